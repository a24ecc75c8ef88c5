import { eventually, sleep } from '../support/wait';
import type { Scenario } from './scenarios';
import { backupOf, blackholed, killPrimary, killZkLeader, partitionPrimaryFromZk, primaryOf, signal, stopPrimary } from './steps';
import type { ChaosServer, Testbed } from './testbed';

/**
 * Faults for replicated state (issue 17): each write replicates a unique id, and after the heal
 * the durability checker wants every acknowledged id in the new primary's state exactly once,
 * nothing never sent, and no divergence between members.
 */
/** Until the member's current process is named by the in-sync set (it caught up and was added). */
async function waitInSync(bed: Testbed, s: ChaosServer, timeoutMs = 20000): Promise<void> {
  await eventually(`${s.label} back in the in-sync set`, async () => (await bed.inSyncKeys()).includes(s.key ?? '?'), timeoutMs);
}

export const REPLICATED_SCENARIOS: readonly Scenario[] = [
  {
    name: 'repl-primary-sigkill',
    fault: 'replicated: primary SIGKILL (restarted empty after the failover)',
    replicated: true,
    inject: killPrimary,
  },
  {
    name: 'repl-primary-sigstop',
    fault: 'replicated: primary SIGSTOP past the session timeout, then SIGCONT',
    replicated: true,
    inject: stopPrimary,
  },
  {
    name: 'repl-backup-sigkill',
    fault: 'replicated: backup SIGKILL, restarted at once from empty (snapshot + log tail)',
    replicated: true,
    async inject(bed) {
      const b = backupOf(bed);
      signal(bed, b, 'SIGKILL');
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
      signal(bed, b, 'SIGSTOP');
      await sleep(2 * bed.sessionTimeoutMs);
      signal(bed, b, 'SIGCONT');
      bed.healed();
    },
  },
  {
    name: 'repl-primary-backup-partition',
    fault: 'replicated: primary cut off from one backup (its ws link blackholed) for 2 x the session timeout',
    replicated: true,
    async inject(bed) {
      const b = backupOf(bed);
      await blackholed(bed, [b.clientProxy], `ws link of ${b.label} blackholed`, () => sleep(2 * bed.sessionTimeoutMs));
      bed.healed();
    },
  },
  {
    name: 'repl-primary-zk-partition',
    fault: 'replicated: primary cut off from ZooKeeper, not from clients or backups',
    replicated: true,
    inject: partitionPrimaryFromZk,
  },
  {
    name: 'repl-zk-leader-kill',
    fault: 'replicated: ensemble leader SIGKILLed, restarted after 2 session timeouts',
    replicated: true,
    inject: killZkLeader,
  },
  {
    name: 'repl-rolling-restart',
    fault: 'replicated: every member restarted in turn (backups first), each back in sync before the next',
    replicated: true,
    async inject(bed) {
      const p = await primaryOf(bed);
      const order = [...bed.servers.filter((s) => s !== p), p];
      for (const s of order) {
        await s.worker.shutdown();
        bed.mark(`restarting ${s.label}`);
        await s.spawn();
        await waitInSync(bed, s);
      }
      bed.healed();
    },
  },
];
