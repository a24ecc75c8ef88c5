import type { ReplicationOptions } from '../../lib';
import { sleep } from '../support/wait';
import type { ChaosServer, Testbed } from './testbed';
import { REPLICATED_SCENARIOS } from './replicated-scenarios';
import { backupOf, blackholed, killPrimary, killZkLeader, killZkNode, partitionPrimaryFromZk, primaryOf, signal, slowed, stepDownPrimary, stopPrimary, successorOf } from './steps';

/**
 * A fault and its heal, injected while the clients' steady load runs. `inject` returns after the
 * heal action, having called `bed.healed()` when it was done; the trial then waits for recovery.
 */
export interface Scenario {
  readonly name: string;
  readonly fault: string;
  /** Replicated state: the servers replicate each write and the durability checker runs too. */
  readonly replicated?: boolean;
  /** Replication options of every server of the group (replicated scenarios). */
  readonly replication?: ReplicationOptions;
  inject(bed: Testbed): Promise<void>;
}

/**
 * SIGKILL the primary, wait for its successor, then plant `data` at the dead primary's member name
 * (now the lowest free one: the head of the line) and SIGKILL the new primary too: the third member
 * must remove the planted head as well as the dead primary. The first victim restarts afterwards.
 */
async function plantedHead(bed: Testbed, plant: (path: string) => Promise<void>, what: string): Promise<void> {
  const first = await primaryOf(bed);
  const deadName = await bed.memberNodeOf(first);
  signal(bed, first, 'SIGKILL');
  const second: ChaosServer = await bed.waitForPrimary(first);
  await eventuallyGone(bed, deadName);
  await plant(deadName);
  bed.mark(`${what} planted at ${deadName}`);
  signal(bed, second, 'SIGKILL');
  await bed.waitForPrimary(second, 30000);
  await sleep(300);
  bed.healed();
  await Promise.all([first.spawn(), second.spawn()]);
}

async function eventuallyGone(bed: Testbed, path: string): Promise<void> {
  for (let i = 0; i < 200 && (await bed.admin.exists(path)); i++) await sleep(25);
}

const BASE_SCENARIOS: readonly Scenario[] = [
  {
    name: 'primary-sigkill',
    fault: 'primary SIGKILL (a replacement process is started after the failover)',
    inject: killPrimary,
  },
  {
    name: 'primary-sigstop',
    fault: 'primary SIGSTOP past the session timeout, then SIGCONT',
    inject: stopPrimary,
  },
  {
    name: 'primary-stepdown',
    fault: 'graceful handover: the primary steps down 3 times in a row under load (stepDown)',
    inject: (bed) => stepDownPrimary(bed),
  },
  {
    name: 'backup-sigkill',
    fault: 'backup SIGKILL (restarted after a session timeout)',
    async inject(bed) {
      const b = backupOf(bed);
      signal(bed, b, 'SIGKILL');
      await sleep(bed.sessionTimeoutMs + 500);
      bed.healed();
      await b.spawn();
    },
  },
  {
    name: 'zk-follower-kill',
    fault: 'ensemble follower SIGKILLed, restarted after 2 session timeouts',
    inject: (bed) => killZkNode(bed, async () => (await bed.zk.followers())[0], 'follower'),
  },
  {
    name: 'zk-leader-kill',
    fault: 'ensemble leader SIGKILLed, restarted after 2 session timeouts',
    inject: killZkLeader,
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
      const p = await primaryOf(bed);
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
    inject: partitionPrimaryFromZk,
  },
  {
    name: 'client-zk-partition',
    fault: "a client cut off from ZooKeeper (past its session timeout), not from servers",
    async inject(bed) {
      await blackholed(bed, bed.clients[0]!.zkProxies, undefined, () => sleep(1.3 * bed.options.clientSessionTimeoutMs));
      bed.healed();
    },
  },
  {
    name: 'primary-client-partition',
    fault: 'primary cut off from clients (its client-side link blackholed) for 2 x the session timeout, not from ZooKeeper',
    async inject(bed) {
      const p = await primaryOf(bed);
      await blackholed(bed, [p.clientProxy], `client link of ${p.label} blackholed`, () => sleep(2 * bed.sessionTimeoutMs));
      bed.healed();
    },
  },
  {
    name: 'primary-event-loop-stall',
    fault: "primary's event loop stalled (busy loop) for 2.5 x the session timeout",
    async inject(bed) {
      const p = await primaryOf(bed);
      const n = p.worker.of('unbusy').length + 1;
      p.worker.send({ cmd: 'busy', ms: 2.5 * bed.sessionTimeoutMs });
      bed.mark(`busy sent to ${p.label}`);
      await p.worker.waitFor('unbusy', n, 30000);
      bed.healed();
    },
  },
  {
    name: 'primary-node-delete-slow-link',
    fault: "primary's member znode deleted while its ZooKeeper links hold every byte 1.5 s (its session lives on)",
    async inject(bed) {
      const p = await primaryOf(bed);
      const node = await bed.memberNodeOf(p);
      await slowed(bed, p, 1500, async () => {
        await sleep(100);
        await bed.admin.delete(node);
        bed.mark(`deleted ${node}`);
        await bed.waitForPrimary(p);
        await sleep(3500); // the old primary hears "refused" through its slow link meanwhile
      });
      bed.healed();
    },
  },
  {
    name: 'stepdown-successor-slow-link',
    fault: "graceful handover while the successor's ZooKeeper links hold every byte 1.5 s (its standby lease goes stale; the release still names it)",
    async inject(bed) {
      const p = await primaryOf(bed);
      const s = await successorOf(bed, p);
      await slowed(bed, s, 1500, async () => {
        await sleep(300);
        bed.mark(`stepDown ${p.label}`);
        p.worker.send({ cmd: 'stepDown' });
        await bed.waitForPrimary(p);
        await sleep(3500);
      });
      bed.healed();
    },
  },
  {
    name: 'stepdown-successor-deleted',
    fault: "graceful handover while an operator deletes the successor's member znode (the release names a member that is going)",
    async inject(bed) {
      const p = await primaryOf(bed);
      const s = await successorOf(bed, p);
      const node = await bed.memberNodeOf(s);
      bed.mark(`stepDown ${p.label}, delete ${node}`);
      p.worker.send({ cmd: 'stepDown' });
      await bed.admin.delete(node).catch(() => undefined);
      await bed.waitForPrimary(p);
      await sleep(500);
      bed.healed();
    },
  },
  {
    name: 'garbage-head',
    fault: 'primary SIGKILL, garbage (not JSON) planted at the head of the line, then the new primary SIGKILLed',
    async inject(bed) {
      await plantedHead(bed, async (path) => { await bed.admin.create(path, Buffer.from('\u0000not a member record')); }, 'garbage');
    },
  },
  {
    name: 'foreign-head',
    fault: "primary SIGKILL, a well-formed member record of a foreign live session (closed port) planted at the head, then the new primary SIGKILLed",
    async inject(bed) {
      const record = { id: 'foreign', url: 'ws://127.0.0.1:1', weight: 1, pid: 1, host: 'elsewhere', startedAt: Date.now(), version: '0.1.0' };
      await plantedHead(bed, async (path) => { await bed.admin.create(path, JSON.stringify(record), { mode: 'ephemeral' }); }, 'foreign member');
    },
  },
];

export const SCENARIOS: readonly Scenario[] = [...BASE_SCENARIOS, ...REPLICATED_SCENARIOS];

/** The subset `npm test` runs once each (integration/chaos.test.ts). */
export const SHORT_PASS = ['primary-sigkill', 'primary-sigstop', 'quorum-loss-long', 'primary-zk-partition', 'primary-event-loop-stall', 'primary-node-delete-slow-link', 'primary-stepdown'];

export function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario "${name}"; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}
