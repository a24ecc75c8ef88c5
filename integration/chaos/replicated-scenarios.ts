import { eventually, sleep } from '../support/wait';
import type { Scenario } from './scenarios';
import { backupOf, blackholed, killPrimary, killZkLeader, partitionPrimaryFromZk, primaryOf, signal, stepDownPrimary, stopPrimary } from './steps';
import type { ChaosServer, Testbed } from './testbed';

/**
 * Faults for replicated state (issue 17): each write replicates a unique id, and after the heal
 * the durability checker wants every acknowledged id in the new primary's state exactly once,
 * nothing never sent, and no divergence between members.
 */
/** Until the member's current process is named by the in-sync set (it caught up and was added). */
/** Writes the clients have seen acknowledged so far. */
function acknowledged(bed: Testbed): number {
  return bed.calls().filter((c) => c.outcome === 'ok').length;
}

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
    name: 'repl-member-restart-empty',
    fault: "replicated: backup SIGKILLed and kept down while 2 x the primary's retained log is written (retainEntries 200), then restarted from empty: catch-up by snapshot + log tail under write load",
    replicated: true,
    replication: { retainEntries: 200 },
    async inject(bed) {
      const b = backupOf(bed);
      b.worker.signal('SIGKILL');
      bed.mark(`SIGKILL ${b.label}`);
      const before = acknowledged(bed);
      await eventually('400 writes acknowledged without the killed backup', () => acknowledged(bed) >= before + 400, 30000);
      bed.mark(`restarting ${b.label} from empty`);
      await b.spawn();
      await waitInSync(bed, b);
      bed.healed();
      // The point of the scenario: the log it missed was compacted away, so only a snapshot could bring it back.
      if (!b.worker.of('fault').some((e) => (e.detail as { what?: unknown } | undefined)?.what === 'snapshot-restored')) throw new Error(`${b.label} caught up without a snapshot: the scenario did not test one`);
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
    name: 'repl-primary-stepdown',
    fault: 'replicated: the primary steps down 3 times in a row under load (stepDown)',
    replicated: true,
    inject: (bed) => stepDownPrimary(bed),
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
