/**
 * ZkSession under the faults of issue "Foundation" (§6), on a real 3-node ensemble and, where the
 * fault must hit a process, a real child process.
 */
import { expect } from 'chai';
import { startZooKeeper, type ZkCluster } from './harness';
import { nodeOf } from './support/session-node';
import { Worker } from './support/worker';
import { eventually, sleep, uniqueRoot } from './support/wait';
import { acl, ZkError, ZkSession } from '../lib/zk';


interface Recorded { session: ZkSession; events: string[] }

describe('ZkSession under faults (real 3-node ensemble)', function () {
  this.timeout(120000);
  let zk: ZkCluster;
  const open: Recorded[] = [];
  const workers: Worker[] = [];

  async function session(timeoutMs = 4000, extra: Partial<ConstructorParameters<typeof ZkSession>[0]> = {}): Promise<Recorded> {
    const s = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: timeoutMs, ...extra });
    const r: Recorded = { session: s, events: [] };
    for (const e of ['suspended', 'reconnected', 'lost', 'session'] as const) s.on(e, () => r.events.push(e));
    open.push(r);
    await s.start();
    return r;
  }

  before(async () => { zk = await startZooKeeper({ nodes: 3 }); });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await Promise.all(open.splice(0).map((r) => r.session.close()));
    for (const n of zk.nodes) if (zk.isRunning(n.id)) zk.resume(n.id);
    for (const n of zk.nodes) if (!zk.isRunning(n.id)) await zk.restart(n.id);
    await zk.waitReady();
  });
  after(async () => { await zk?.close(); });

  it('the JVM it is connected to freezes: it moves to another node, keeping its id and ephemeral nodes', async () => {
    const r = await session(4000);
    const root = uniqueRoot();
    await r.session.mkdirp(root);
    const eph = await r.session.create(`${root}/e`, 'x', { mode: 'ephemeral' });
    const id = r.session.sessionId;
    const frozen = await nodeOf(zk, id);
    expect(frozen, 'connected node').to.be.a('number');
    zk.pause(frozen!);
    await eventually('reconnected elsewhere', async () => r.events.includes('reconnected'), 15000);
    expect(await nodeOf(zk, id)).to.not.equal(frozen);
    // Past a full session timeout the session is still the same one, and so is its node.
    await sleep(4500);
    expect(r.session.sessionId).to.equal(id);
    expect(r.events).to.not.include('lost');
    const stat = await r.session.exists(eph);
    expect(stat?.ephemeralOwner).to.equal(id);
  });

  it('the client process is frozen past its session timeout: lost, then a new session; its old ephemeral node is gone', async () => {
    const root = uniqueRoot();
    const observer = await session(4000);
    await observer.session.mkdirp(root);
    const w = new Worker('session-worker.ts', [zk.connectString, '1500', `${root}/w`]);
    workers.push(w);
    const first = await w.waitFor('ephemeral');
    w.signal('SIGSTOP');
    await eventually('old ephemeral node expired', async () => (await observer.session.exists(first.path as string)) === null, 20000);
    w.signal('SIGCONT');
    const lost = await w.waitFor('lost');
    expect(['expired', 'timeout']).to.include(lost.reason);
    const fresh = await w.waitFor('session');
    expect(fresh.sessionId).to.not.equal(first.sessionId);
    const second = await w.waitFor('ephemeral', 2);
    // The observer may sit on another follower that applies the create a moment later.
    await eventually('the new ephemeral node is visible', async () => (await observer.session.exists(second.path as string)) !== null);
    expect(await observer.session.exists(first.path as string)).to.equal(null);
  });

  it('forced expiry: lost (expired), then a new session; the old ephemeral node is gone', async () => {
    const r = await session(4000);
    const root = uniqueRoot();
    await r.session.mkdirp(root);
    const eph = await r.session.create(`${root}/e`, 'x', { mode: 'ephemeral' });
    const before = r.session.sessionId;
    const creds = r.session.credentials!;
    await zk.expireSession(creds.sessionId, creds.password);
    await eventually('new session', () => r.events.includes('session'));
    // Taking the session over may first bump its connection (suspended, reconnected); then it is lost.
    expect(r.events).to.include('lost');
    expect(r.events.indexOf('lost')).to.be.lessThan(r.events.indexOf('session'));
    expect(r.session.sessionId).to.not.equal(before);
    expect(await r.session.exists(eph)).to.equal(null);
  });

  for (const role of ['follower', 'leader'] as const) {
    it(`ensemble ${role} killed: suspended then reconnected on the same session, nothing lost`, async () => {
      // Sessions spread at random over the nodes: open them until at least one sits on the victim.
      const victim = role === 'leader' ? await zk.leader() : (await zk.followers())[0]!;
      const rs = await Promise.all(Array.from({ length: 4 }, () => session(6000)));
      let onVictim = await Promise.all(rs.map((r) => nodeOf(zk, r.session.sessionId)));
      while (!onVictim.includes(victim) && rs.length < 24) {
        const r = await session(6000);
        rs.push(r);
        onVictim = [...onVictim, await nodeOf(zk, r.session.sessionId)];
      }
      const ids = rs.map((r) => r.session.sessionId);
      await zk.kill(victim);
      await eventually('every session usable again', async () => {
        const ok = await Promise.all(rs.map((r) => r.session.exists('/').then(() => r.session.state === 'connected', () => false)));
        return ok.every(Boolean);
      }, 30000);
      rs.forEach((r, i) => {
        expect(r.session.sessionId, `session ${i}`).to.equal(ids[i]);
        expect(r.events, `session ${i}`).to.not.include('lost');
        if (onVictim[i] === victim) {
          expect(r.events[0], `session ${i} on the killed node: ${r.events.join(',')}`).to.equal('suspended');
          expect(r.events, `session ${i} on the killed node`).to.include('reconnected');
        }
      });
      expect(onVictim.some((n) => n === victim), 'some session was on the killed node').to.equal(true);
    });
  }

  it('quorum lost for less than the session timeout: no expiry once it returns', async () => {
    const rs = await Promise.all(Array.from({ length: 3 }, () => session(10000)));
    const ids = rs.map((r) => r.session.sessionId);
    const t0 = Date.now();
    await zk.dropQuorum();
    await eventually('suspended', () => rs.every((r) => r.session.state === 'suspended'), 10000);
    await sleep(1000);
    await zk.regainQuorum();
    await eventually('reconnected', () => rs.every((r) => r.session.state === 'connected'), 20000);
    const outage = Date.now() - t0;
    expect(outage, 'the outage must stay under the session timeout for this test to mean anything').to.be.lessThan(10000);
    rs.forEach((r, i) => {
      expect(r.session.sessionId).to.equal(ids[i]);
      expect(r.events).to.not.include('lost');
    });
  });

  it('digest ACLs: a session without the credentials gets NO_AUTH on a protected node; with them it may write', async () => {
    const owner = await session(4000, { auth: [{ scheme: 'digest', credentials: 'svc:secret' }] });
    const stranger = await session(4000);
    const root = uniqueRoot();
    const protectedAcl = [acl.digest('svc', 'secret', ['all']), ...acl.worldRead()];
    await owner.session.create(root, 'v1', { acl: protectedAcl });
    // Deleting a node needs DELETE on its parent: protect a child under the protected node.
    await owner.session.create(`${root}/member`, 'm', { acl: protectedAcl });
    expect((await stranger.session.get(root)).data.toString()).to.equal('v1');
    for (const attempt of [
      () => stranger.session.set(root, 'hacked'),
      () => stranger.session.create(`${root}/child`),
      () => stranger.session.delete(`${root}/member`),
      () => stranger.session.setAcl(root, acl.open()),
    ]) {
      const error = await attempt().then(() => undefined, (e: ZkError) => e);
      expect(error?.code).to.equal('NO_AUTH');
    }
    await owner.session.set(root, 'v2');
    const { acl: read } = await stranger.session.getAcl(root);
    expect(read.map((a) => a.scheme).sort()).to.deep.equal(['digest', 'world']);
  });
});
