import { eventually, sleep } from '../support/wait';
import type { Scenario } from './scenarios';
import type { ChaosServer, Testbed } from './testbed';

/**
 * Faults for replicated state (issue 17): each write replicates a unique id, and after the heal
 * the durability checker wants every acknowledged id in the new primary's state exactly once,
 * nothing never sent, and no divergence between members.
 */
async function primaryOf(bed: Testbed): Promise<ChaosServer> {
  const p = bed.primary();
  if (!p) throw new Error('no primary to inject the fault into');
  return p;
}

function backupOf(bed: Testbed): ChaosServer {
  const b = bed.backups()[0];
  if (!b) throw new Error('no backup');
  return b;
}

/** Until the member's current process is named by the in-sync set (it caught up and was added). */
async function waitInSync(bed: Testbed, s: ChaosServer, timeoutMs = 20000): Promise<void> {
  await eventually(`${s.label} back in the in-sync set`, async () => (await bed.inSyncKeys()).includes(s.key ?? '?'), timeoutMs);
}

export const REPLICATED_SCENARIOS: readonly Scenario[] = [
  {
    name: 'repl-primary-sigkill',
    fault: 'replicated: primary SIGKILL (restarted empty after the failover)',
    replicated: true,
    async inject(bed) {
      const p = await primaryOf(bed);
      p.worker.signal('SIGKILL');
      bed.mark(`SIGKILL ${p.label}`);
      await bed.waitForPrimary(p);
      await sleep(300);
      bed.healed();
      await p.spawn();
    },
  },
  {
    name: 'repl-primary-sigstop',
    fault: 'replicated: primary SIGSTOP past the session timeout, then SIGCONT',
    replicated: true,
    async inject(bed) {
      const p = await primaryOf(bed);
      p.worker.signal('SIGSTOP');
      bed.mark(`SIGSTOP ${p.label}`);
      await bed.waitForPrimary(p);
      await sleep(bed.sessionTimeoutMs);
      p.worker.signal('SIGCONT');
      bed.mark(`SIGCONT ${p.label}`);
      bed.healed();
    },
  },
  {
    name: 'repl-backup-sigkill',
    fault: 'replicated: backup SIGKILL, restarted at once from empty (snapshot + log tail)',
    replicated: true,
    async inject(bed) {
      const b = backupOf(bed);
      b.worker.signal('SIGKILL');
      bed.mark(`SIGKILL ${b.label}`);
      await sleep(200);
      await b.spawn();
      await waitInSync(bed, b);
      bed.healed();
    },
  },
  {
    name: 'repl-backup-sigstop',
    fault: 'replicated: backup SIGSTOP for 2 x the session timeout, then SIGCONT',
    replicated: true,
    async inject(bed) {
      const b = backupOf(bed);
      b.worker.signal('SIGSTOP');
      bed.mark(`SIGSTOP ${b.label}`);
      await sleep(2 * bed.sessionTimeoutMs);
      b.worker.signal('SIGCONT');
      bed.mark(`SIGCONT ${b.label}`);
      bed.healed();
    },
  },
  {
    name: 'repl-primary-backup-partition',
    fault: 'replicated: primary cut off from one backup (its ws link blackholed) for 2 x the session timeout',
    replicated: true,
    async inject(bed) {
      const b = backupOf(bed);
      b.clientProxy.blackhole();
      bed.mark(`ws link of ${b.label} blackholed`);
      try {
        await sleep(2 * bed.sessionTimeoutMs);
      } finally {
        b.clientProxy.heal();
      }
      bed.healed();
    },
  },
  {
    name: 'repl-primary-zk-partition',
    fault: 'replicated: primary cut off from ZooKeeper, not from clients or backups',
    replicated: true,
    async inject(bed) {
      const p = await primaryOf(bed);
      for (const proxy of p.zkProxies) proxy.blackhole();
      bed.mark(`ZooKeeper links of ${p.label} blackholed`);
      try {
        await bed.waitForPrimary(p);
        await sleep(500);
      } finally {
        for (const proxy of p.zkProxies) proxy.heal();
      }
      bed.healed();
    },
  },
  {
    name: 'repl-zk-leader-kill',
    fault: 'replicated: ensemble leader SIGKILLed, restarted after 2 session timeouts',
    replicated: true,
    async inject(bed) {
      const l = await bed.zk.leader();
      await bed.zk.kill(l);
      await sleep(2 * bed.sessionTimeoutMs);
      await bed.zk.restart(l);
      bed.healed();
    },
  },
  {
    name: 'repl-rolling-restart',
    fault: 'replicated: every member restarted in turn (backups first), each back in sync before the next',
    replicated: true,
    async inject(bed) {
      const p = await primaryOf(bed);
      const order = [...bed.servers.filter((s) => s !== p), p];
      for (const s of order) {
        s.worker.send({ cmd: 'close' });
        await Promise.race([s.worker.exit, sleep(5000)]);
        await s.worker.kill();
        bed.mark(`restarting ${s.label}`);
        await s.spawn();
        await waitInSync(bed, s);
      }
      bed.healed();
    },
  },
];
