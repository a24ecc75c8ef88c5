/**
 * Who ZooKeeper wakes when leadership changes hands (issues 14/15: one notification per leader
 * change at any group size). Only the second in line watches the head; the third reads the head's
 * lease on a timer (a backup observer), those further back watch their predecessor only and list
 * the line again on a timer. Candidates run in this process with every watch notification of their
 * sessions recorded; the heads that crash are child processes (SIGKILL, sessions left to live).
 */
import { expect } from 'chai';
import type { ZkCluster } from './harness';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { Worker } from './support/worker';
import { eventually, sleep, uniqueRoot } from './support/wait';
import { Sessions } from './support/sessions';
import { Candidates, type Candidate, type Notification } from './support/candidates';
import { servicePaths } from '../lib/coordination';

/** The candidate worker's lease (its default). */
const LEASE_MS = 500;

describe('leadership: a leader change notifies the successor only (real ZooKeeper)', function () {
  this.timeout(120000);
  let zk: ZkCluster;
  const sessions = new Sessions(() => ({ connect: zk.connectString, sessionTimeoutMs: 10000 }));
  const candidates = new Candidates(sessions);
  const workers: Worker[] = [];

  before(async () => { zk = await sharedZooKeeper(); });
  afterEach(async () => {
    candidates.stopAll();
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await sessions.closeAll();
  });

  /** A candidate in its own process (lease 500 ms, session 10 s), elected or registered. */
  async function worker(root: string, id: string, until: 'elected' | 'registered'): Promise<{ w: Worker; name: string }> {
    const w = new Worker('candidate-worker.ts', [zk.connectString, root, 'svc', '10000', id]);
    workers.push(w);
    await w.waitFor(until, 1, 30000);
    const path = (await w.waitFor('registered', 1, 30000)).path as string;
    return { w, name: path.slice(path.lastIndexOf('/') + 1) };
  }

  /** The member node and the lease node(s) of the member named `name`. */
  function nodesOf(root: string, name: string): (n: Notification) => boolean {
    const paths = servicePaths('svc', root);
    return (n) => n.path === `${paths.members}/${name}` || n.path.startsWith(`${paths.leases}/${name}.`);
  }

  /** Notifications `c` received after `mark` notifications, except about its own member node (its Membership watches that). */
  const since = (c: Candidate, mark: number): Notification[] =>
    c.notifications.slice(mark).filter((n) => n.path !== c.membership.node?.path);

  const marks = (cs: readonly Candidate[]): Map<Candidate, number> => new Map(cs.map((c) => [c, c.notifications.length]));

  /** Ids of the candidates that received a notification matching `about` since their mark. */
  const notifiedAbout = (m: Map<Candidate, number>, about: (n: Notification) => boolean): string[] =>
    [...m].filter(([c, mark]) => since(c, mark).some(about)).map(([c]) => c.id);

  /** Ids of the candidates that received any notification since their mark. */
  const notifiedAtAll = (m: Map<Candidate, number>, cs: readonly Candidate[]): string[] => cs.filter((c) => since(c, m.get(c)!).length > 0).map((c) => c.id);

  it('six candidates, a SIGKILLed primary and then a handover: each change notifies the successor only; nobody behind the third is woken', async () => {
    const root = uniqueRoot();
    const members = servicePaths('svc', root).members;
    const k0 = await worker(root, 'k0', 'elected');
    const line: Candidate[] = [];
    for (let i = 1; i <= 5; i++) line.push(await candidates.start(root, `c${i}`, { leaseMs: LEASE_MS }));
    const [c1, c2, c3, c4, c5] = line as [Candidate, Candidate, Candidate, Candidate, Candidate];
    await eventually('c1 follows k0\'s renewals', () => c1.election.stats.headEvents > 2);

    // 1: the primary's process dies; its session lives on (10 s): c1 takes over after one lease.
    let m = marks(line);
    await k0.w.kill();
    await eventually('c1 leads', () => c1.election.isLeader(), 15000);
    const seen = c2.election.stats.headEvents;
    await eventually('c2 read that k0 left, and follows c1 now', () => c2.election.stats.headEvents > seen + 1, 15000);
    await sleep(LEASE_MS); // late notifications, and c3's next listing
    expect(c1.takeovers.map((t) => t.reason)).to.deep.equal(['lease-expired']);
    expect(notifiedAbout(m, nodesOf(root, k0.name)), 'notified of k0\'s end').to.deep.equal(['c1']);
    expect(notifiedAbout(m, (n) => n.path.startsWith(`${members}/`)), 'notified about any member node').to.deep.equal(['c1']);
    expect(notifiedAtAll(m, [c3, c4, c5]), 'woken behind the third').to.deep.equal([]);

    // 2: c1 hands over (RELEASED + leave the line in one write): c2 leads at once.
    m = marks([c2, c3, c4, c5]);
    const c1Name = c1.membership.node!.name;
    await c1.election.resign({ rejoin: false });
    await eventually('c2 leads', () => c2.election.isLeader(), 15000);
    const seen3 = c3.election.stats.headEvents;
    await eventually('c3 read that c1 left, and follows c2 now', () => c3.election.stats.headEvents > seen3 + 1, 15000);
    await sleep(LEASE_MS);
    expect(notifiedAbout(m, nodesOf(root, c1Name)), 'notified of c1\'s end').to.deep.equal(['c2']);
    expect(notifiedAtAll(m, [c4, c5]), 'woken behind the third').to.deep.equal([]);
    expect([c2, c3, c4, c5].filter((c) => c.election.isLeader()).map((c) => c.id)).to.deep.equal(['c2']);
  });

  it('an idle process second in line (a raw session\'s well-formed record) and the head is SIGKILLed: the third, which only reads the head\'s lease, removes both and leads', async () => {
    const root = uniqueRoot();
    const paths = servicePaths('svc', root);
    const k0 = await worker(root, 'k0', 'elected');
    const raw = await sessions.open();
    const idle = await raw.create(`${paths.members}/m-`, JSON.stringify({ id: 'idle', url: 'ws://127.0.0.1:1/idle', weight: 1, pid: 1, host: 'elsewhere', startedAt: 1, version: '0' }), { mode: 'ephemeral-sequential' });
    const third = await candidates.start(root, 'third', { leaseMs: LEASE_MS });
    const fourth = await candidates.start(root, 'fourth', { leaseMs: LEASE_MS });
    await sleep(2 * LEASE_MS); // the third has read k0's lease
    const m = marks([third, fourth]);
    await k0.w.kill();
    await eventually('the third leads', () => third.election.isLeader(), 15000);
    expect(third.takeovers.map((t) => t.reason)).to.deep.equal(['lease-expired']);
    expect(await raw.exists(idle), 'the idle second was removed with the head').to.equal(null);
    expect(await raw.exists(`${paths.members}/${k0.name}`), 'the head was removed').to.equal(null);
    expect(notifiedAbout(m, nodesOf(root, k0.name)), 'notified of k0\'s end').to.deep.equal([]);
    await eventually('the fourth follows the third', () => fourth.election.stats.headEvents > 0);
    expect(fourth.election.isLeader()).to.equal(false);
  });

  it('a rogue third in line (registered, never serves), then two SIGKILLed primaries in a row: the line still converges on a real member; nobody behind is told of either change', async () => {
    const root = uniqueRoot();
    const paths = servicePaths('svc', root);
    const k0 = await worker(root, 'k0', 'elected');
    const k1 = await worker(root, 'k1', 'registered');
    const raw = await sessions.open();
    const rogue = await raw.create(`${paths.members}/m-`, JSON.stringify({ id: 'rogue', url: 'ws://127.0.0.1:1/rogue', weight: 1, pid: 1, host: 'elsewhere', startedAt: 1, version: '0' }), { mode: 'ephemeral-sequential' });
    const c3 = await candidates.start(root, 'c3', { leaseMs: LEASE_MS });
    const c4 = await candidates.start(root, 'c4', { leaseMs: LEASE_MS });
    await sleep(2 * LEASE_MS);
    const m = marks([c3, c4]);
    await k0.w.kill();
    await k1.w.waitFor('elected', 1, 15000);
    await sleep(3 * LEASE_MS); // c3 listed the line again (it is third now) and reads k1's lease
    await k1.w.kill();
    await eventually('c3 leads', () => c3.election.isLeader(), 15000);
    expect(c3.takeovers.map((t) => t.reason)).to.deep.equal(['lease-expired']);
    expect(await raw.exists(rogue), 'the rogue was removed with k1').to.equal(null);
    expect(notifiedAbout(m, (n) => nodesOf(root, k0.name)(n) || nodesOf(root, k1.name)(n)), 'notified of k0\'s or k1\'s end').to.deep.equal([]);
    expect(notifiedAbout(m, (n) => n.path === rogue), 'notified of the rogue\'s removal').to.deep.equal(['c3']); // its own write, on its predecessor watch
    expect(notifiedAbout(m, (n) => n.path.startsWith(`${paths.members}/`)), 'notified about any member node').to.deep.equal(['c3']);
    expect(c4.election.isLeader()).to.equal(false);
  });
});
