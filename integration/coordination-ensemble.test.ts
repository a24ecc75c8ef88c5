/**
 * Coordination on a real 3-node ensemble: the service's leader rides out the loss of a ZooKeeper
 * follower and of the ZooKeeper leader, and a view keeps its last snapshot while the ensemble has
 * no quorum.
 */
import { expect } from 'chai';
import { startZooKeeper, type ZkCluster } from './harness';
import { nodeOf } from './support/session-node';
import { eventually, sleep, uniqueRoot } from './support/wait';
import { Sessions } from './support/sessions';
import { Election, Membership, MembershipView } from '../lib/coordination';
import { ZkSession } from '../lib/zk';


describe('coordination on a 3-node ensemble (real ZooKeeper)', function () {
  this.timeout(90000);
  let zk: ZkCluster;
  const sessions = new Sessions(() => ({ connect: zk.connectString }));
  const elections: Election[] = [];
  const views: MembershipView[] = [];

  const open = (sessionTimeoutMs: number): Promise<ZkSession> => sessions.open({ sessionTimeoutMs });

  /** Three members electing on `sessions` (m0 first in line); `log` records elected/demoted/takeover. */
  async function electionGroup(root: string, sessions: ZkSession[], leaseMs: number) {
    const log: string[] = [];
    const members = sessions.map((s, i) => {
      const m = new Membership(s, { service: 'svc', mode: 'primary-backup', root, record: { id: `m${i}`, url: `ws://127.0.0.1:1/m${i}` } });
      const e = new Election(s, m, { leaseMs });
      e.on('elected', (x) => log.push(`m${i}:elected:${x.epoch}`));
      e.on('demoted', (x) => log.push(`m${i}:demoted:${x.reason}`));
      e.on('takeover', (x) => log.push(`m${i}:takeover:${x.node}`));
      elections.push(e);
      return { s, m, e };
    });
    for (const { m, e } of members) {
      e.start();
      await m.register();
    }
    await eventually('m0 leads', () => members[0]!.e.isLeader());
    return { log, members };
  }

  before(async () => { zk = await startZooKeeper({ nodes: 3 }); });
  afterEach(async () => {
    for (const e of elections.splice(0)) e.stop();
    for (const v of views.splice(0)) v.stop();
    await sessions.closeAll();
    for (const n of zk.nodes) if (!zk.isRunning(n.id)) await zk.restart(n.id);
    await zk.waitReady();
  });
  after(async () => { await zk?.close(); });

  for (const role of ['follower', 'leader'] as const) {
    it(`ZooKeeper ${role} killed: the service's leader does not change (no demoted, no elected)`, async () => {
      const root = uniqueRoot();
      const victim = role === 'leader' ? await zk.leader() : (await zk.followers())[0]!;
      // The service leader's own session sits on the node that dies (sessions pick a node at random).
      let leaderSession: ZkSession | undefined;
      for (let i = 0; i < 30 && !leaderSession; i++) {
        const s = await open(10000);
        if ((await nodeOf(zk, s.sessionId)) === victim) leaderSession = s;
      }
      expect(leaderSession, `a session on node ${victim}`).to.not.equal(undefined);
      // A lease longer than a ZooKeeper leader election (~0.2–2 s here) rides it out; a shorter one
      // pauses the primary during the election (never splits it) — see docs/leadership.md.
      const { log, members } = await electionGroup(root, [leaderSession!, await open(10000), await open(10000)], 5000);
      const before = [...log];
      const ids = members.map(({ s }) => s.sessionId);
      await zk.kill(victim);
      await eventually('every member session usable again', async () => {
        const ok = await Promise.all(members.map(({ s }) => s.exists('/').then(() => s.state === 'connected', () => false)));
        return ok.every(Boolean);
      }, 30000);
      await sleep(500);
      expect(log, 'election events after the kill').to.deep.equal(before);
      expect(members.map(({ s }) => s.sessionId)).to.deep.equal(ids);
      expect(members[0]!.e.isLeader()).to.equal(true);
      expect(members.slice(1).some(({ e }) => e.epoch !== undefined)).to.equal(false);
    });
  }

  it('ZooKeeper unavailable for longer than the lease: the primary pauses, then goes on; no takeover', async () => {
    const root = uniqueRoot();
    const { log, members } = await electionGroup(root, [await open(10000), await open(10000), await open(10000)], 200);
    const before = [...log];
    // Every member is cut off for 1.5 s (7 leases): nobody can renew, nobody can observe.
    await zk.dropQuorum();
    await sleep(1500);
    expect(members[0]!.e.isLeader(), 'no lease without ZooKeeper').to.equal(false);
    await zk.regainQuorum();
    await eventually('every member session usable again', async () => {
      const ok = await Promise.all(members.map(({ s }) => s.exists('/').then(() => s.state === 'connected', () => false)));
      return ok.every(Boolean);
    }, 30000);
    await eventually('m0 serves again', () => members[0]!.e.isLeader(), 10000);
    await sleep(1000);
    // The successor counted the lease from when its own connection came back: m0 renewed first.
    expect(log, 'election events after the outage').to.deep.equal(before);
    expect(members[0]!.e.isLeader()).to.equal(true);
  });

  it('no quorum: a view keeps its last snapshot (even past its session timeout), then converges', async () => {
    const root = uniqueRoot();
    const host = await open(20000);
    const ms = Array.from({ length: 3 }, (_, i) => new Membership(host, { service: 'svc', mode: 'redundant', root, record: { id: `r${i}`, url: `ws://127.0.0.1:1/r${i}` } }));
    for (const m of ms) await m.register();
    const viewSession = await open(1500);
    // No 'error' listener on purpose: ZooKeeper errors must not crash the process.
    const view = new MembershipView(viewSession, 'svc', { root });
    views.push(view);
    const first = await view.start();
    expect(first.members.map((m) => m.record.id)).to.deep.equal(['r0', 'r1', 'r2']);
    const lost: string[] = [];
    viewSession.on('lost', (l) => lost.push(l.reason));
    await zk.dropQuorum();
    await eventually('the view\'s session lost by its local expiry timer', () => lost.length > 0, 15000);
    await sleep(1000);
    expect(view.snapshot, 'snapshot unchanged while ZooKeeper is unreachable').to.equal(first);
    await zk.regainQuorum();
    await ms[1]!.leave();
    await eventually('view converges after quorum returns', () =>
      JSON.stringify(view.snapshot.members.map((m) => m.record.id)) === JSON.stringify(['r0', 'r2']), 30000);
  });
});
