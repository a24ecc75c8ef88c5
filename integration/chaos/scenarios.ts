import { sleep } from '../support/wait';
import type { Testbed } from './testbed';

/**
 * A fault and its heal, injected while the clients' steady load runs. `inject` returns after the
 * heal action, having called `bed.healed()` when it was done; the trial then waits for recovery.
 */
export interface Scenario {
  readonly name: string;
  readonly fault: string;
  inject(bed: Testbed): Promise<void>;
}

async function primaryOrFail(bed: Testbed) {
  const p = bed.primary();
  if (!p) throw new Error('no primary to inject the fault into');
  return p;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'primary-sigkill',
    fault: 'primary SIGKILL (a replacement process is started after the failover)',
    async inject(bed) {
      const p = await primaryOrFail(bed);
      p.worker.signal('SIGKILL');
      bed.mark(`SIGKILL ${p.label}`);
      await bed.waitForPrimary(p);
      await sleep(300);
      bed.healed();
      await p.spawn();
    },
  },
  {
    name: 'primary-sigstop',
    fault: 'primary SIGSTOP past the session timeout, then SIGCONT',
    async inject(bed) {
      const p = await primaryOrFail(bed);
      p.worker.signal('SIGSTOP');
      bed.mark(`SIGSTOP ${p.label}`);
      await bed.waitForPrimary(p);
      await sleep(bed.sessionTimeoutMs);
      bed.mark(`SIGCONT ${p.label}`);
      p.worker.signal('SIGCONT');
      bed.healed();
    },
  },
  {
    name: 'backup-sigkill',
    fault: 'backup SIGKILL (restarted after a session timeout)',
    async inject(bed) {
      const b = bed.backups()[0];
      if (!b) throw new Error('no backup');
      b.worker.signal('SIGKILL');
      bed.mark(`SIGKILL ${b.label}`);
      await sleep(bed.sessionTimeoutMs + 500);
      bed.healed();
      await b.spawn();
    },
  },
  {
    name: 'zk-follower-kill',
    fault: 'ensemble follower SIGKILLed, restarted after 2 session timeouts',
    async inject(bed) {
      const [f] = await bed.zk.followers();
      if (f === undefined) throw new Error('no follower');
      await bed.zk.kill(f);
      await sleep(2 * bed.sessionTimeoutMs);
      await bed.zk.restart(f);
      bed.healed();
    },
  },
  {
    name: 'zk-leader-kill',
    fault: 'ensemble leader SIGKILLed, restarted after 2 session timeouts',
    async inject(bed) {
      const l = await bed.zk.leader();
      await bed.zk.kill(l);
      await sleep(2 * bed.sessionTimeoutMs);
      await bed.zk.restart(l);
      bed.healed();
    },
  },
  {
    name: 'quorum-loss-short',
    fault: 'quorum lost for 0.6 x the session timeout (2 of 3 nodes SIGSTOPped, leader included)',
    async inject(bed) {
      const leader = await bed.zk.leader();
      const [follower] = await bed.zk.followers();
      const frozen = [leader, follower!];
      for (const id of frozen) bed.zk.pause(id);
      try {
        await sleep(0.6 * bed.sessionTimeoutMs);
      } finally {
        for (const id of frozen) bed.zk.resume(id);
      }
      bed.healed();
    },
  },
  {
    name: 'quorum-loss-long',
    fault: 'quorum lost for 2 x the session timeout (2 of 3 nodes SIGKILLed, then restarted)',
    async inject(bed) {
      await bed.zk.dropQuorum();
      await sleep(2 * bed.sessionTimeoutMs);
      await bed.zk.regainQuorum();
      bed.healed();
    },
  },
  {
    name: 'primary-session-expiry',
    fault: "forced expiry of the primary's ZooKeeper session",
    async inject(bed) {
      const p = await primaryOrFail(bed);
      p.worker.send({ cmd: 'credentials' });
      const cred = await p.worker.waitFor('credentials', p.worker.of('credentials').length + 1, 5000);
      if (typeof cred.sessionId !== 'string') throw new Error('the primary has no session');
      bed.mark(`expiring the session of ${p.label}`);
      await bed.zk.expireSession(Buffer.from(cred.sessionId, 'hex'), Buffer.from(String(cred.password), 'hex'));
      bed.healed();
    },
  },
  {
    name: 'primary-zk-partition',
    fault: 'primary cut off from ZooKeeper (all its ensemble links blackholed), not from clients',
    async inject(bed) {
      const p = await primaryOrFail(bed);
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
    name: 'client-zk-partition',
    fault: "a client cut off from ZooKeeper (past its session timeout), not from servers",
    async inject(bed) {
      const c = bed.clients[0]!;
      for (const proxy of c.zkProxies) proxy.blackhole();
      try {
        await sleep(1.3 * bed.options.clientSessionTimeoutMs);
      } finally {
        for (const proxy of c.zkProxies) proxy.heal();
      }
      bed.healed();
    },
  },
  {
    name: 'primary-client-partition',
    fault: 'primary cut off from clients (its client-side link blackholed) for 2 x the session timeout, not from ZooKeeper',
    async inject(bed) {
      const p = await primaryOrFail(bed);
      p.clientProxy.blackhole();
      bed.mark(`client link of ${p.label} blackholed`);
      try {
        await sleep(2 * bed.sessionTimeoutMs);
      } finally {
        p.clientProxy.heal();
      }
      bed.healed();
    },
  },
  {
    name: 'primary-event-loop-stall',
    fault: "primary's event loop stalled (busy loop) for 2.5 x the session timeout",
    async inject(bed) {
      const p = await primaryOrFail(bed);
      const n = p.worker.of('unbusy').length + 1;
      p.worker.send({ cmd: 'busy', ms: 2.5 * bed.sessionTimeoutMs });
      bed.mark(`busy sent to ${p.label}`);
      await p.worker.waitFor('unbusy', n, 30000);
      bed.healed();
    },
  },
];

/** The subset `npm test` runs once each (integration/chaos.test.ts). */
export const SHORT_PASS = ['primary-sigkill', 'primary-sigstop', 'quorum-loss-long', 'primary-zk-partition', 'primary-event-loop-stall'];

export function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario "${name}"; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}
