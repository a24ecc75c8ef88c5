/**
 * Leadership as a lease on the primary's own znode (issue 14), against a real ZooKeeper: the
 * split brain of a deleted member node under a slow link (chaos testbed + checker), heads of the
 * line that never serve (garbage, huge, foreign, registered-but-idle), the act-at rule, a deleted
 * service node, a ZooKeeper that lost its data, and SIGKILL failover by takeover.
 */
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { startZooKeeper, type ZkCluster } from './harness';
import type { LocalCluster } from './harness/local-cluster';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { Worker } from './support/worker';
import { eventually, sleep, uniqueRoot } from './support/wait';
import { Sessions } from './support/sessions';
import { Candidates, type Candidate } from './support/candidates';
import { excerpt } from './chaos/report';
import { scenario } from './chaos/scenarios';
import { DEFAULT_TESTBED, runTrial } from './chaos/trial';
import { HaServer } from '../lib';
import { ensureService, leaseNodeName, Membership, MembershipView, releaseMarkerPath, servicePaths } from '../lib/coordination';
import type { DemotionReason } from '../lib/coordination';
import { ZkSession } from '../lib/zk';

const LEASE_MS = 300;

/** zkCli's deleteall, atomically: members register again at once, so a node-by-node delete would never finish. */
async function deleteAll(s: ZkSession, top: string): Promise<void> {
  const ops: { op: 'delete'; path: string }[] = [];
  const walk = async (p: string): Promise<void> => {
    for (const kid of (await s.children(p)).children) await walk(`${p}/${kid}`);
    ops.push({ op: 'delete', path: p });
  };
  for (let attempt = 0; ; attempt++) {
    ops.length = 0;
    try {
      await walk(top);
      await s.multi(ops);
      return;
    } catch (error) {
      if (attempt > 20) throw error;
    }
  }
}

describe('leadership: a lease on the primary\'s own znode (real ZooKeeper)', function () {
  this.timeout(120000);
  let zk: ZkCluster;
  const sessions = new Sessions(() => ({ connect: zk.connectString, sessionTimeoutMs: 6000 }));
  const candidates = new Candidates(sessions);
  const views: MembershipView[] = [];
  const workers: Worker[] = [];
  const clusters: ZkCluster[] = [];

  before(async () => { zk = await sharedZooKeeper(); });
  afterEach(async () => {
    candidates.stopAll();
    for (const v of views.splice(0)) v.stop();
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await sessions.closeAll();
    await Promise.all(clusters.splice(0).map((c) => c.close()));
  });

  const open = (connect = zk.connectString, sessionTimeoutMs = 6000): Promise<ZkSession> => sessions.open({ connect, sessionTimeoutMs });

  const candidate = (root: string, id: string, connect = zk.connectString, leaseMs = LEASE_MS): Promise<Candidate> =>
    candidates.start(root, id, { connect, leaseMs });

  /** a leads, b (second in line) has watched a's renewals for a lease; the handoff between them is watched. */
  async function leaderAndObserver(root: string, standby = true): Promise<{ a: Candidate; b: Candidate; handoff: { expectNoOverlap(): void }; admin: ZkSession }> {
    const a = await candidates.start(root, 'a', { connect: zk.connectString, leaseMs: LEASE_MS, standby });
    await eventually('a leads', () => a.election.isLeader());
    const b = await candidates.start(root, 'b', { connect: zk.connectString, leaseMs: LEASE_MS, standby });
    await sleep(LEASE_MS);
    return { a, b, handoff: watchHandoff(a, b), admin: await open() };
  }

  /** Polls a's isLeader() every ms and notes when b is elected: b must be elected after a's last moment as leader. */
  function watchHandoff(a: Candidate, b: Candidate): { expectNoOverlap(): void } {
    let lastALeads = 0n;
    let bElectedAt = 0n;
    const poll = setInterval(() => { if (a.election.isLeader()) lastALeads = process.hrtime.bigint(); }, 1);
    b.election.once('elected', () => { bElectedAt = process.hrtime.bigint(); });
    return {
      expectNoOverlap(): void {
        clearInterval(poll);
        expect(bElectedAt > lastALeads, 'b elected after a\'s last moment as leader').to.equal(true);
      },
    };
  }

  async function view(root: string, connect = zk.connectString): Promise<MembershipView> {
    const v = new MembershipView(await open(connect), 'svc', { root });
    v.on('error', () => undefined);
    views.push(v);
    await v.start();
    return v;
  }

  it('primary\'s member node deleted while its ZooKeeper link is slow (1.5 s): no call runs under the old epoch after the new primary started', async () => {
    const r = await runTrial(zk, scenario('primary-node-delete-slow-link'), { ...DEFAULT_TESTBED, sessionTimeoutMs: 10000 });
    expect(r.check.violations.map(excerpt), 'checker findings').to.deep.equal([]);
    const epochs = new Set(r.history.calls.filter((c) => c.outcome === 'ok').map((c) => c.epoch));
    expect(epochs.size, 'a failover happened under load').to.be.at.least(2);
    expect(r.rejoinMs).to.be.a('number');
  });

  it('a foreign head, garbage, huge and bad-URL nodes behind it, then a registered-but-idle head: all removed; a real member is elected and routed to', async () => {
    const root = uniqueRoot();
    const paths = servicePaths('svc', root);
    const admin = await open();
    await ensureService(admin, paths, 'primary-backup');
    const v = await view(root);
    const invalid: string[] = [];
    v.on('invalid', (i) => invalid.push(i.path));
    const seq = (data: Buffer | string, mode: 'persistent-sequential' | 'ephemeral-sequential', s = admin) =>
      s.create(`${paths.members}/m-`, data, { mode });
    const record = (id: string, extra: object = {}) => JSON.stringify({ id, url: 'ws://127.0.0.1:1', weight: 1, pid: 1, host: 'elsewhere', startedAt: 1, version: '0', ...extra });
    // A well-formed record of a foreign live session (a closed port) heads the line; invalid nodes follow.
    const planted = [
      await seq(record('foreign'), 'ephemeral-sequential', await open()),
      await seq('\u0000garbage', 'persistent-sequential'),
      await seq(record('huge', { meta: { blob: 'x'.repeat(900_000) } }), 'persistent-sequential'),
      await seq(record('bad-url', { url: 'ws://127.0.0.1' }), 'persistent-sequential'),
    ];
    const a = await candidate(root, 'a');
    const reported: string[] = [];
    a.election.on('invalid', (i) => reported.push(i.path));
    // A real process that registered but never serves (no election): a valid record, a live session.
    const idle = new Membership(await open(), { service: 'svc', mode: 'primary-backup', root, record: { id: 'idle', url: 'ws://127.0.0.1:1/idle' } });
    const idleNode = await idle.register();
    const b = await candidate(root, 'b');
    await eventually('a leads', () => a.election.isLeader(), 30000);
    for (const p of planted) expect(await admin.exists(p), `${p} removed`).to.equal(null);
    expect(a.takeovers.map((t) => t.reason)).to.deep.equal(['never-served']);
    expect(reported.length, 'the election reported the invalid nodes it looked through').to.equal(3);
    expect(invalid.length, 'the view reported them too').to.equal(3);
    await eventually('the view routes to a', () => v.snapshot.primary?.record.id === 'a');
    // a leaves: the idle member heads the line and never serves; b, behind it, removes it and leads.
    await a.election.resign({ rejoin: false });
    await eventually('b leads', () => b.election.isLeader(), 30000);
    expect(await admin.exists(idleNode.path), 'the idle node was removed').to.equal(null);
    expect(b.takeovers.map((t) => t.reason)).to.deep.equal(['never-served']);
    await eventually('the view routes to b', () => v.snapshot.primary?.record.id === 'b');
    await eventually('idle registered again, at the back', () => v.snapshot.members.at(-1)?.record.id === 'idle');
    await idle.leave();
  });

  it('a server started with an oversized meta or a URL no client could dial fails at construction with INVALID_OPTION', () => {
    const base = { zk: { connect: '127.0.0.1:1' }, service: 'svc', mode: 'primary-backup' as const };
    expect(() => new HaServer({ ...base, meta: { blob: 'x'.repeat(70 * 1024) } })).to.throw(/option "meta"/);
    expect(() => new HaServer({ ...base, advertiseUrl: 'ws://host-without-port' })).to.throw(/option "advertiseUrl"/);
  });

  it('steady state: lease renewals wake no client view (0 notifications), only the second in line — not the third (it reads the lease), nor anyone behind', async () => {
    const root = uniqueRoot();
    const v = await view(root);
    const a = await candidate(root, 'a');
    const b = await candidate(root, 'b');
    const rest = [await candidate(root, 'c'), await candidate(root, 'd'), await candidate(root, 'e')];
    await eventually('the view sees a serving', () => v.snapshot.primary?.record.id === 'a');
    await sleep(300);
    const viewSession = (v as unknown as { session: ZkSession }).session;
    const before = { view: viewSession.stats.watchEvents, b: b.election.stats.headEvents, rest: rest.map((c) => c.notifications.length) };
    await sleep(3 * LEASE_MS);
    expect(viewSession.stats.watchEvents - before.view, 'notifications to the client view').to.equal(0);
    expect(b.election.stats.headEvents - before.b, 'the second in line saw the renewals').to.be.at.least(3);
    expect(rest.map((c, i) => c.notifications.length - before.rest[i]!), 'notifications to the third, fourth and fifth').to.deep.equal([0, 0, 0]);
    expect(a.election.isLeader()).to.equal(true);
  });

  it('an operator deletes a live primary\'s member node: the successor acts only after the old lease ran out; the old primary stops at once', async () => {
    const root = uniqueRoot();
    const { a, b, handoff, admin } = await leaderAndObserver(root);
    await admin.delete(a.membership.node!.path);
    await eventually('b leads', () => b.election.isLeader());
    handoff.expectNoOverlap();
    expect(a.log).to.satisfy((l: string[]) => l.some((x) => x.startsWith('demoted:')));
    expect(b.takeovers, 'no takeover was needed').to.deep.equal([]);
  });

  it('a graceful handover marks the lease RELEASED in the write that removes the member node: the successor acts at once, with no lease to wait out', async () => {
    // An 8 s lease: waiting it out (the act-at rule without a release) would take 8.8 s. The first
    // head of a new service waits one out too (it knows nothing of a predecessor).
    const root = uniqueRoot();
    const a = await candidate(root, 'a', zk.connectString, 8000);
    await eventually('a leads', () => a.election.isLeader(), 15000);
    const b = await candidate(root, 'b', zk.connectString, 8000);
    await sleep(200); // b watches a's lease
    const handoff = watchHandoff(a, b);
    const admin = await open();
    const paths = servicePaths('svc', root);
    const leasePath = `${paths.leases}/${(await admin.children(paths.leases)).children[0]!}`;
    let released = false;
    const watchLease = (): void => {
      void admin.get(leasePath, { watch: watchLease }).then(({ data }) => { released ||= data.toString() === 'released'; }, () => undefined);
    };
    watchLease();
    await a.election.resign({ rejoin: true });
    await eventually('b leads long before an 8 s lease could run out', () => b.election.isLeader(), 5000);
    handoff.expectNoOverlap();
    expect(b.takeovers, 'no takeover: a left the line itself').to.deep.equal([]);
    expect(a.log).to.include('demoted:resigned' satisfies `demoted:${DemotionReason}`);
    // The mark and the departure are one transaction: whoever reads the lease after the departure sees RELEASED.
    await eventually('the lease node holds the RELEASED mark', () => released);
  });

  it('a RELEASED mark written into a live primary\'s lease node (not by its holder) is not trusted: the successor waits out the lease; the old primary stops first', async () => {
    const root = uniqueRoot();
    const { a, b, handoff, admin } = await leaderAndObserver(root);
    const paths = servicePaths('svc', root);
    const [lease] = (await admin.children(paths.leases)).children;
    await admin.set(`${paths.leases}/${lease}`, 'released');
    await eventually('b leads', () => b.election.isLeader());
    handoff.expectNoOverlap();
    expect(a.log).to.include('demoted:lease-lost' satisfies `demoted:${DemotionReason}`);
  });

  it('a graceful handover without hot standby: the successor sends its claim on the departure notification, conditioned on the release marker, before its listing is answered; the marker is consumed', async () => {
    const root = uniqueRoot();
    const { a, b, handoff, admin } = await leaderAndObserver(root, false);
    const own = a.membership.node!;
    const marker = releaseMarkerPath(servicePaths('svc', root), leaseNodeName(own.name, own.sessionId));
    // The order in which b's session sends the claim and gets its listings back, from the resign on.
    const order: string[] = [];
    const { children, multi } = b.session;
    b.session.children = (...args) => children.apply(b.session, args).then((r) => { order.push('listing answered'); return r; });
    b.session.multi = (ops, ...rest) => {
      if (ops.some((o) => o.op === 'delete' && o.path === marker)) order.push('claim sent');
      return multi.apply(b.session, [ops, ...rest]);
    };
    await a.election.resign({ rejoin: true });
    await eventually('b leads', () => b.election.isLeader());
    handoff.expectNoOverlap();
    expect(order[0], `b's order of events: ${order.join(', ')}`).to.equal('claim sent');
    expect(b.election.stats).to.include({ releaseClaims: 1, releaseClaimsWon: 1 });
    expect(b.takeovers).to.deep.equal([]);
    expect(await admin.exists(marker), 'the claim deleted the marker').to.equal(null);
  });

  it('a departure that is not a release (an operator writes the lease and deletes the member node in one multi): the claim sent early is refused and the successor waits out the lease; the old primary stops first', async () => {
    const lease = 3000; // renewals every second: the old primary serves on for a while after the deletion
    const root = uniqueRoot();
    const a = await candidate(root, 'a', zk.connectString, lease);
    await eventually('a leads', () => a.election.isLeader(), 10000);
    const b = await candidate(root, 'b', zk.connectString, lease);
    await sleep(200); // b watches a's lease
    const handoff = watchHandoff(a, b);
    const admin = await open();
    const own = a.membership.node!;
    const leasePath = `${servicePaths('svc', root).leases}/${leaseNodeName(own.name, own.sessionId)}`;
    // Right after a renewal: a's lease then holds for most of a second more.
    await new Promise<void>((resolve) => { void admin.get(leasePath, { watch: () => resolve() }); });
    // The lease write reaches b's watch with the departure, as a release's does; no marker exists.
    await admin.multi([{ op: 'set', path: leasePath, data: 'serving', version: -1 }, { op: 'delete', path: own.path, version: -1 }]);
    await eventually('b leads', () => b.election.isLeader(), 10000);
    handoff.expectNoOverlap();
    expect(b.election.stats, 'the early claim was sent, and refused').to.include({ releaseClaims: 1, releaseClaimsWon: 0 });
    expect(a.log).to.satisfy((l: string[]) => l.some((x) => x.startsWith('demoted:')));
    expect(b.takeovers).to.deep.equal([]);
  });

  it('the old primary closes its session right after the release (the marker and its lease node go with it): the successor still leads, never while the old one does', async () => {
    const root = uniqueRoot();
    const { a, b, handoff } = await leaderAndObserver(root);
    await a.election.resign({ rejoin: false });
    await a.session.close();
    await eventually('b leads', () => b.election.isLeader());
    handoff.expectNoOverlap();
    expect(b.takeovers).to.deep.equal([]);
  });

  it('a takeover publishes the successor\'s lease in the same write: client views go from the old primary straight to the new one', async () => {
    const root = uniqueRoot();
    const v = await view(root);
    const first = new Worker('candidate-worker.ts', [zk.connectString, root, 'svc', '10000', 'k0']);
    workers.push(first);
    await first.waitFor('elected', 1, 30000);
    const b = await candidate(root, 'b', zk.connectString, 500); // the worker's lease: 500 ms
    await eventually('the view acknowledges k0', () => v.snapshot.primary?.record.id === 'k0');
    const primaries: (string | undefined)[] = [];
    v.on('primary', ({ member }) => primaries.push(member?.record.id));
    await sleep(LEASE_MS);
    await first.kill();
    await eventually('b leads', () => b.election.isLeader(), 9000);
    await eventually('the view acknowledges b', () => v.snapshot.primary?.record.id === 'b');
    expect(b.takeovers.map((t) => t.reason)).to.deep.equal(['lease-expired']);
    expect(primaries, 'no snapshot without a primary between the two').to.deep.equal(['b']);
  });

  it('an operator deletes the primary\'s lease node: its next renewal is refused, it leaves the head of the line, another leads', async () => {
    const root = uniqueRoot();
    const a = await candidate(root, 'a');
    const v = await view(root);
    await eventually('a leads', () => a.election.isLeader());
    const b = await candidate(root, 'b');
    await eventually('view sees a as primary', () => v.snapshot.primary?.record.id === 'a');
    const admin = await open();
    const paths = servicePaths('svc', root);
    const [lease] = (await admin.children(paths.leases)).children;
    await admin.delete(`${paths.leases}/${lease}`);
    await eventually('b leads', () => b.election.isLeader());
    expect(a.log).to.include('demoted:lease-lost' satisfies `demoted:${DemotionReason}`);
    await eventually('view sees b as primary', () => v.snapshot.primary?.record.id === 'b');
    await eventually('a is back in line behind b', () => v.snapshot.members.map((m) => m.record.id).join() === 'b,a');
  });

  it('the service node is deleted (deleteall): servers recreate it and register again; a primary serves; views report a new generation', async () => {
    const root = uniqueRoot();
    const v = await view(root);
    const a = await candidate(root, 'a');
    const b = await candidate(root, 'b');
    await eventually('a primary', () => v.snapshot.primary !== undefined);
    const generation = v.snapshot.generation;
    expect(generation).to.not.equal('');
    const generations: string[] = [];
    v.on('generation', (g) => generations.push(g.generation));
    await deleteAll(await open(), servicePaths('svc', root).servicePath);
    await eventually('a primary again, in a new generation', () =>
      v.snapshot.primary !== undefined && v.snapshot.generation !== generation && v.snapshot.members.length === 2, 30000);
    expect(generations).to.include(v.snapshot.generation);
    expect([a, b].filter((c) => c.election.isLeader())).to.have.length(1);
    expect(a.membership.generation).to.equal(v.snapshot.generation);
  });

  it('ZooKeeper loses its data (restarted with an empty data directory): a new generation; the service recovers by itself', async () => {
    const own = await startZooKeeper({ nodes: 1 });
    clusters.push(own);
    const root = uniqueRoot();
    const v = await view(root, own.connectString);
    const a = await candidate(root, 'a', own.connectString);
    const b = await candidate(root, 'b', own.connectString);
    await eventually('a primary', () => v.snapshot.primary !== undefined);
    const generation = v.snapshot.generation;
    await own.stop(1);
    const dataDir = path.join((own as LocalCluster).nodeDir(1), 'data');
    for (const entry of fs.readdirSync(dataDir)) if (entry !== 'myid') fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
    await own.restart(1);
    await eventually('a primary again, in a new generation', () =>
      v.snapshot.primary !== undefined && v.snapshot.generation !== generation && v.snapshot.members.length === 2, 60000);
    expect([a, b].filter((c) => c.election.isLeader())).to.have.length(1);
  });

  it('SIGKILL of the primary while the second in line is idle (registered, no election): the third removes both and leads, before any session expires', async () => {
    const root = uniqueRoot();
    const first = new Worker('candidate-worker.ts', [zk.connectString, root, 'svc', '10000', 'k0']);
    workers.push(first);
    await first.waitFor('elected', 1, 30000);
    const idle = new Membership(await open(zk.connectString, 10000), { service: 'svc', mode: 'primary-backup', root, record: { id: 'idle', url: 'ws://127.0.0.1:1/idle' } });
    const idleNode = await idle.register();
    const third = await candidate(root, 'third');
    await sleep(1000);
    await first.kill();
    await eventually('the third leads', () => third.election.isLeader(), 9000);
    expect(third.takeovers.map((t) => t.reason)).to.deep.equal(['lease-expired']);
    const admin = await open();
    expect(await admin.exists(idleNode.path), 'the idle second was removed with the head').to.equal(null);
    await idle.leave();
  });

  it('SIGKILL of the primary with a 10 s session: the successor takes over after about one lease, long before the session could expire', async () => {
    const root = uniqueRoot();
    const spawn = (id: string): Worker => {
      const w = new Worker('candidate-worker.ts', [zk.connectString, root, 'svc', '10000', id]);
      workers.push(w);
      return w;
    };
    const first = spawn('k0');
    await first.waitFor('elected', 1, 30000);
    const second = spawn('k1');
    await second.waitFor('registered', 1, 30000);
    await sleep(1000);
    const killedAt = process.hrtime.bigint();
    await first.kill();
    const takeover = await second.waitFor('takeover', 1, 9000);
    const elected = await second.waitFor('elected', 1, 5000);
    expect(takeover.reason).to.equal('lease-expired');
    const ms = Number(BigInt(elected.t as string) - killedAt) / 1e6;
    process.stdout.write(`      (SIGKILL → successor elected in ${ms.toFixed(0)} ms; lease 500 ms, session 10 s)\n`);
  });
});
