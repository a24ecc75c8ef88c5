/**
 * Hot standby (leadership.md): the second in line keeps a standby lease with check-only writes, and a
 * release that names it lets it serve the moment it is told — one ZooKeeper write per handover. Real
 * ZooKeeper; the attacks are the ways a marker could be believed by the wrong member or too late.
 */
import { expect } from 'chai';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { TcpProxy, type ZkCluster } from './harness';
import { eventually, sleep, uniqueRoot } from './support/wait';
import { Sessions } from './support/sessions';
import { Candidates, type Candidate } from './support/candidates';
import { leaseNodeName, namedReleaseMarkerPath, releaseMarkerPath, servicePaths } from '../lib/coordination';

const LEASE_MS = 300;

describe('leadership: hot standby (real ZooKeeper)', function () {
  this.timeout(60000);
  let zk: ZkCluster;
  const sessions = new Sessions(() => ({ connect: zk.connectString, sessionTimeoutMs: 6000 }));
  const candidates = new Candidates(sessions);

  before(async () => { zk = await sharedZooKeeper(); });
  afterEach(async () => {
    candidates.stopAll();
    await sessions.closeAll();
  });

  const proxies: TcpProxy[] = [];
  afterEach(async () => { await Promise.all(proxies.splice(0).map((p) => p.close())); });

  /**
   * a leads with a 2 s lease through a proxy, b is second; a's link then holds every byte 1.5 s: a
   * hears neither of its member node's deletion nor of refused renewals, so it serves on until its
   * lease runs out — what an imitated handover would overlap with.
   */
  async function slowLeader(root: string): Promise<{ a: Candidate; b: Candidate; proxy: TcpProxy }> {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.nodes[0]!.clientPort });
    proxies.push(proxy);
    const a = await candidates.start(root, 'a', { connect: proxy.address, leaseMs: 2000 });
    await eventually('a leads', () => a.election.isLeader(), 10000);
    const b = await candidates.start(root, 'b', { connect: zk.connectString, leaseMs: 2000 });
    await sleep(300);
    return { a, b, proxy };
  }

  /** The first leads, the others queue behind it in order; the second has kept its standby lease for a lease. */
  async function inLine(root: string, ...ids: string[]): Promise<Candidate[]> {
    const first = await candidate(root, ids[0]!);
    await eventually(`${ids[0]} leads`, () => first.election.isLeader());
    const rest: Candidate[] = [];
    for (const id of ids.slice(1)) rest.push(await candidate(root, id));
    await sleep(LEASE_MS);
    return [first, ...rest];
  }

  const candidate = (root: string, id: string, standby = true): Promise<Candidate> =>
    candidates.start(root, id, { connect: zk.connectString, leaseMs: LEASE_MS, standby });

  /**
   * Samples every candidate's isLeader() every millisecond (one process, one clock): two at once is a
   * split brain. Also notes who ever led.
   */
  function watchLeaders(all: readonly Candidate[]): { stop(): { overlaps: number; led: string[] } } {
    let overlaps = 0;
    const led = new Set<string>();
    const poll = setInterval(() => {
      const leaders = all.filter((c) => c.election.isLeader());
      if (leaders.length > 1) overlaps++;
      for (const c of leaders) led.add(c.id);
    }, 1);
    return { stop: () => { clearInterval(poll); return { overlaps, led: [...led] }; } };
  }

  /** Records, per candidate, the multis its session sends and when their answers arrive, beside its elections. */
  function trace(c: Candidate): string[] {
    const events: string[] = [];
    const multi = c.session.multi;
    c.session.multi = (ops, ...rest) => {
      const kind = ops.length === 1 && ops[0]!.op === 'check' ? 'standby' : 'write';
      if (kind === 'standby') return multi.apply(c.session, [ops, ...rest]);
      events.push('write sent');
      return multi.apply(c.session, [ops, ...rest]).finally(() => events.push('write answered'));
    };
    c.election.on('elected', () => events.push('elected'));
    return events;
  }

  it('a graceful handover names the successor: it serves on its standby lease when told of the release, before any write of its own is answered; then publishes its lease node and consumes the marker', async () => {
    const root = uniqueRoot();
    const a = await candidate(root, 'a');
    await eventually('a leads', () => a.election.isLeader());
    const b = await candidate(root, 'b');
    await sleep(LEASE_MS); // b is second, watching a; its standby lease is renewed
    const leaders = watchLeaders([a, b]);
    const own = a.membership.node!;
    const bOwn = b.membership.node!;
    const paths = servicePaths('svc', root);
    const named = namedReleaseMarkerPath(releaseMarkerPath(paths, leaseNodeName(own.name, own.sessionId)), bOwn.name);
    const events = trace(b);
    await a.election.resign({ rejoin: true });
    await eventually('b leads', () => b.election.isLeader());
    expect(events[0], `b's order: ${events.join(', ')}`).to.equal('elected');
    expect(b.election.stats).to.include({ standbyHandovers: 1, releaseClaims: 0, takeovers: 0 });
    const admin = await sessions.open({ connect: zk.connectString, sessionTimeoutMs: 6000 });
    await eventually('b published its lease node', async () => (await admin.exists(`${paths.leases}/${leaseNodeName(bOwn.name, bOwn.sessionId)}`)) !== null);
    await eventually('b consumed the marker naming it', async () => (await admin.exists(named)) === null);
    await sleep(3 * LEASE_MS); // b renews its lease proper: it goes on leading
    expect(b.election.isLeader()).to.equal(true);
    const { overlaps, led } = leaders.stop();
    expect(overlaps, 'samples with two leaders').to.equal(0);
    expect(led).to.include('b');
  });

  it('a successor named by the caller (its view) is used as is: no listing on the handover\'s path, and b serves on its standby lease', async () => {
    const root = uniqueRoot();
    const [a, b] = await inLine(root, 'a', 'b');
    const leaders = watchLeaders([a, b]);
    const sent: string[] = [];
    const { children, multi } = a.session;
    const aPath = a.membership.node!.path;
    a.session.children = (...args) => { sent.push('listing'); return children.apply(a.session, args); };
    a.session.multi = (ops, ...rest) => {
      if (ops.some((o) => o.op === 'delete' && o.path === aPath)) sent.push('release');
      return multi.apply(a.session, [ops, ...rest]);
    };
    await a.election.resign({ rejoin: true, successor: b.membership.node!.name });
    await eventually('b leads', () => b.election.isLeader());
    expect(sent.slice(0, sent.indexOf('release') + 1), 'what the resigning member sent up to its release').to.deep.equal(['release']);
    expect(b.election.stats).to.include({ standbyHandovers: 1, releaseClaims: 0, takeovers: 0 });
    await sleep(2 * LEASE_MS);
    const { overlaps } = leaders.stop();
    expect(overlaps, 'samples with two leaders').to.equal(0);
  });

  it('a successor name that is not behind us (our own, one ahead, not a member name) is ignored: the line is listed and b serves on its standby lease', async () => {
    for (const bad of ['own', 'ahead', 'garbage'] as const) {
      const root = uniqueRoot();
      const [a, b] = await inLine(root, 'a', 'b');
      const leaders = watchLeaders([a, b]);
      const own = a.membership.node!;
      const name = bad === 'own' ? own.name : bad === 'ahead' ? `m-${String(Math.max(0, own.sequence - 1)).padStart(10, '0')}` : '../leases/x';
      let listings = 0;
      const { children } = a.session;
      a.session.children = (...args) => { listings++; return children.apply(a.session, args); };
      await a.election.resign({ rejoin: true, successor: name });
      await eventually(`${bad}: b leads`, () => b.election.isLeader());
      expect(listings, `${bad}: the resigning member listed the line`).to.be.greaterThan(0);
      expect(b.election.stats.standbyHandovers, `${bad}: b was named from the listing`).to.equal(1);
      await sleep(2 * LEASE_MS);
      expect(leaders.stop().overlaps, `${bad}: samples with two leaders`).to.equal(0);
      candidates.stopAll();
      await sessions.closeAll();
    }
  });

  it('a wrong successor name is safe: a node that does not exist makes the named release fail and the plain one commit; naming the third in line gives it nothing — never two at once', async () => {
    for (const wrong of ['missing', 'third'] as const) {
      const root = uniqueRoot();
      const [a, b, c] = await inLine(root, 'a', 'b', 'c');
      const leaders = watchLeaders([a, b, c]);
      const own = a.membership.node!;
      const name = wrong === 'missing' ? `m-${String(own.sequence + 1000).padStart(10, '0')}` : c.membership.node!.name;
      await a.election.resign({ rejoin: true, successor: name });
      await eventually('someone leads', () => [b, c].some((x) => x.election.isLeader()), 10000);
      await sleep(3 * LEASE_MS);
      const { overlaps, led } = leaders.stop();
      expect(overlaps, `${wrong}: samples with two leaders`).to.equal(0);
      expect(led, wrong).to.include('b'); // b was next in line either way
      expect(c.election.stats.standbyHandovers, `${wrong}: c is not the standby`).to.equal(0);
      expect(b.election.stats.standbyHandovers, `${wrong}: b was not named`).to.equal(0);
      candidates.stopAll();
      await sessions.closeAll();
    }
  });

  it('the named successor\'s member node is deleted while the primary drains: the named release fails, the plain one goes through, and the member behind leads — never two at once', async () => {
    const root = uniqueRoot();
    const [a, b, c] = await inLine(root, 'a', 'b', 'c');
    const leaders = watchLeaders([a, b, c]);
    const admin = await sessions.open({ connect: zk.connectString, sessionTimeoutMs: 6000 });
    const bPath = b.membership.node!.path;
    // a lists the line (b right behind it) beside the drain; b's node goes once that listing is answered, before the release is sent.
    let listed!: () => void;
    const listing = new Promise<void>((resolve) => { listed = resolve; });
    const { children, multi } = a.session;
    a.session.children = (...args) => children.apply(a.session, args).finally(() => listed());
    const releases: { namesB: boolean; ok: boolean }[] = [];
    const aPath = a.membership.node!.path;
    a.session.multi = (ops, ...rest) => {
      if (!ops.some((o) => o.op === 'delete' && o.path === aPath)) return multi.apply(a.session, [ops, ...rest]); // a renewal
      const namesB = ops.some((o) => o.op === 'check' && o.path === bPath);
      return multi.apply(a.session, [ops, ...rest]).then(
        (r) => { releases.push({ namesB, ok: true }); return r; },
        (e: unknown) => { releases.push({ namesB, ok: false }); throw e; });
    };
    await a.election.resign({ rejoin: true, beforeRelease: async () => { await listing; await admin.delete(bPath); } });
    await eventually('someone leads', () => [a, b, c].some((x) => x.election.isLeader()), 10000);
    await sleep(3 * LEASE_MS);
    const { overlaps } = leaders.stop();
    expect(overlaps, 'samples with two leaders').to.equal(0);
    expect(releases[0], 'the release named b and was refused (b\'s node was gone)').to.deep.equal({ namesB: true, ok: false });
    expect(releases[1], 'then the plain release committed').to.deep.equal({ namesB: false, ok: true });
    expect(b.election.stats.standbyHandovers, 'b was not named by any release that committed').to.equal(0);
    expect(c.election.stats.standbyHandovers).to.equal(0);
  });

  it('the successor steps down the moment it is elected on its standby lease (before its lease node is published): nobody overlaps, and a third member leads', async () => {
    const root = uniqueRoot();
    const [a, b, c] = await inLine(root, 'a', 'b', 'c');
    const leaders = watchLeaders([a, b, c]);
    let resigned: Promise<void> | undefined;
    b.election.once('elected', () => { resigned = b.election.resign({ rejoin: true }); });
    await a.election.resign({ rejoin: true });
    await eventually('b was elected and resigned', () => resigned !== undefined, 5000);
    await resigned;
    await eventually('someone other than b leads', () => a.election.isLeader() || c.election.isLeader(), 10000);
    await sleep(3 * LEASE_MS);
    const { overlaps } = leaders.stop();
    expect(overlaps, 'samples with two leaders').to.equal(0);
    expect(b.election.stats.standbyHandovers).to.equal(1);
    expect(b.election.isLeader(), 'b stays demoted (its lease did not come back when the creation was answered)').to.equal(false);
  });

  it('a marker naming the successor that exists before it watches for it (no creation notified) is never taken for a handover: the head goes on leading alone', async () => {
    // Only a notification orders the marker's creation against b's own standby writes; a marker found
    // by a read proves nothing of the kind (and one created while the head leads needs write access to
    // the service's nodes: leadership.md, "What this does not cover").
    const root = uniqueRoot();
    const a = await candidate(root, 'a');
    await eventually('a leads', () => a.election.isLeader());
    const admin = await sessions.open({ connect: zk.connectString, sessionTimeoutMs: 6000 });
    const own = a.membership.node!;
    const paths = servicePaths('svc', root);
    // The next member node's name: created before b registers, so b finds it when it arms its watch.
    const b0 = await candidate(root, 'b0');
    const seq = b0.membership.node!.sequence + 1;
    const bName = b0.membership.node!.name.replace(/\d+$/, (d) => String(seq).padStart(d.length, '0'));
    await admin.create(namedReleaseMarkerPath(releaseMarkerPath(paths, leaseNodeName(own.name, own.sessionId)), bName), undefined, { mode: 'ephemeral' });
    await b0.membership.leave();
    const b = await candidate(root, 'b');
    expect(b.membership.node!.name).to.equal(bName);
    const leaders = watchLeaders([a, b]);
    await sleep(3 * LEASE_MS);
    expect(a.election.isLeader(), 'a still leads').to.equal(true);
    expect(b.election.stats.standbyHandovers).to.equal(0);
    expect(leaders.stop().overlaps).to.equal(0);
  });

  it('a foreign node created at the path of the marker naming the successor while the head leads is not a release (its owner is not the head\'s session): the successor does not serve; a real handover later still works', async () => {
    const root = uniqueRoot();
    const a = await candidate(root, 'a');
    await eventually('a leads', () => a.election.isLeader());
    const b = await candidate(root, 'b');
    await sleep(LEASE_MS); // b watches for the marker naming it
    const leaders = watchLeaders([a, b]);
    const admin = await sessions.open({ connect: zk.connectString, sessionTimeoutMs: 6000 });
    const own = a.membership.node!;
    const forged = namedReleaseMarkerPath(releaseMarkerPath(servicePaths('svc', root), leaseNodeName(own.name, own.sessionId)), b.membership.node!.name);
    await admin.create(forged, undefined, { mode: 'ephemeral' });
    await sleep(3 * LEASE_MS);
    expect(a.election.isLeader(), 'a still leads').to.equal(true);
    expect(b.election.isLeader(), 'b does not').to.equal(false);
    expect(b.election.stats).to.include({ standbyHandovers: 0, releaseClaimsWon: 0 });
    await admin.delete(forged);
    await sleep(LEASE_MS);
    await a.election.resign({ rejoin: true });
    await eventually('b leads after the real handover', () => b.election.isLeader(), 5000);
    expect(leaders.stop().overlaps, 'samples with two leaders').to.equal(0);
  });

  it('a forged handover — an operator\'s multi writes the head\'s lease, creates its plain release marker and deletes its member node — is not trusted: the marker is not the head\'s, the successor waits out the lease', async () => {
    const root = uniqueRoot();
    const { a, b, proxy } = await slowLeader(root);
    const leaders = watchLeaders([a, b]);
    const admin = await sessions.open({ connect: zk.connectString, sessionTimeoutMs: 6000 });
    const own = a.membership.node!;
    const paths = servicePaths('svc', root);
    const leaseName = leaseNodeName(own.name, own.sessionId);
    proxy.delay(1500);
    await admin.multi([
      { op: 'set', path: `${paths.leases}/${leaseName}`, data: 'serving', version: -1 },
      { op: 'create', path: releaseMarkerPath(paths, leaseName), mode: 'ephemeral' },
      { op: 'delete', path: own.path, version: -1 },
    ]);
    await eventually('b leads', () => b.election.isLeader(), 10000);
    expect(leaders.stop().overlaps, 'samples with two leaders').to.equal(0);
    expect(b.election.stats.releaseClaimsWon, 'no claim on a marker the head did not create').to.equal(0);
  });

  it('a forged handover without a marker — one multi writes RELEASED into the head\'s lease and deletes its member node — is not trusted either: the successor waits out the lease', async () => {
    const root = uniqueRoot();
    const { a, b, proxy } = await slowLeader(root);
    const leaders = watchLeaders([a, b]);
    const admin = await sessions.open({ connect: zk.connectString, sessionTimeoutMs: 6000 });
    const own = a.membership.node!;
    const leasePath = `${servicePaths('svc', root).leases}/${leaseNodeName(own.name, own.sessionId)}`;
    // Right after a renewal: a's lease then holds for most of its 2 s.
    await new Promise<void>((resolve) => { void admin.get(leasePath, { watch: () => resolve() }); });
    proxy.delay(1500);
    await admin.multi([{ op: 'set', path: leasePath, data: 'released', version: -1 }, { op: 'delete', path: own.path, version: -1 }]);
    await eventually('b leads', () => b.election.isLeader(), 10000);
    expect(leaders.stop().overlaps, 'samples with two leaders').to.equal(0);
  });

  it('with standby off the second in line sends no standby writes; on, about three per lease', async () => {
    const root = uniqueRoot();
    const a = await candidate(root, 'a', false);
    await eventually('a leads', () => a.election.isLeader());
    const off = await candidate(root, 'off', false);
    let offWrites = 0;
    const multi = off.session.multi;
    off.session.multi = (ops, ...rest) => { offWrites++; return multi.apply(off.session, [ops, ...rest]); };
    await sleep(4 * LEASE_MS);
    expect(offWrites, 'second in line, standby off: no writes').to.equal(0);
    off.election.stop();
    await off.membership.leave();
    const on = await candidate(root, 'on');
    let onWrites = 0;
    const multiOn = on.session.multi;
    on.session.multi = (ops, ...rest) => { if (ops.length === 1 && ops[0]!.op === 'check') onWrites++; return multiOn.apply(on.session, [ops, ...rest]); };
    await sleep(4 * LEASE_MS);
    expect(onWrites, 'second in line, standby on: a check-only write about every lease/3').to.be.within(6, 20);
  });
});
