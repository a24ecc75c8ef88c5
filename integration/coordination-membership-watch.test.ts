/**
 * MembershipView under its persistent recursive watch (issue 15) against a real ZooKeeper: what the
 * watch missed while cut off is found again after a reconnect, a session expiry and a ZooKeeper
 * restart; the service node recreated; lease renewals wake no view; and a server without addWatch
 * (older than 3.6) gets the one-shot watches instead.
 */
import { expect } from 'chai';
import { startZooKeeper, TcpProxy, type ZkCluster } from './harness';
import { oldServerRelay } from './support/old-server-relay';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot } from './support/wait';
import { decodeRecord, Election, Membership, MembershipView, servicePaths, sortMemberNames } from '../lib/coordination';
import { ZkError, ZkSession } from '../lib/zk';

describe('coordination: MembershipView with a persistent recursive watch (real ZooKeeper)', function () {
  this.timeout(90_000);
  const sessions: ZkSession[] = [];
  const views: MembershipView[] = [];
  const cleanups: (() => unknown)[] = [];

  async function open(connect: string, sessionTimeoutMs = 10_000): Promise<ZkSession> {
    const s = new ZkSession({ connect, sessionTimeoutMs });
    sessions.push(s);
    await s.start();
    return s;
  }
  function member(session: ZkSession, root: string, id: string): Membership {
    return new Membership(session, { service: 'svc', mode: 'primary-backup', root, record: { id, url: `ws://127.0.0.1:1/${id}` } });
  }
  async function view(session: ZkSession, root: string): Promise<MembershipView> {
    const v = new MembershipView(session, 'svc', { root });
    views.push(v);
    await v.start();
    return v;
  }
  /** "id:weight" of every member in sequence order, read fresh from ZooKeeper. */
  async function truth(session: ZkSession, root: string): Promise<string[]> {
    const paths = servicePaths('svc', root);
    const { children } = await session.retry(() => session.children(paths.members));
    const out: string[] = [];
    for (const { name } of sortMemberNames(children)) {
      try {
        const r = decodeRecord((await session.get(`${paths.members}/${name}`)).data, name);
        out.push(`${r.id}:${r.weight}`);
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
      }
    }
    return out;
  }
  const seen = (v: MembershipView): string[] => v.snapshot.members.map((m) => `${m.record.id}:${m.record.weight}`);
  async function converges(v: MembershipView, reader: ZkSession, root: string, what: string): Promise<void> {
    let last = '';
    try {
      await eventually(what, async () => {
        const fresh = JSON.stringify(await truth(reader, root));
        last = `view ${JSON.stringify(seen(v))} (${String(v.watchMode)}), ZooKeeper ${fresh}`;
        return JSON.stringify(seen(v)) === fresh;
      }, 20_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}; last: ${last}`);
    }
  }

  afterEach(async () => {
    for (const v of views.splice(0)) v.stop();
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    for (const c of cleanups.splice(0)) await c();
  });

  it('changes made while the view was cut off (join, leave, update) are all there after the reconnect, and later ones too', async () => {
    const zk = await sharedZooKeeper();
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.nodes[0]!.clientPort });
    cleanups.push(() => proxy.close());
    const root = uniqueRoot('mv-reconnect');
    const writer = await open(zk.connectString);
    const members = [member(writer, root, 'a'), member(writer, root, 'b'), member(writer, root, 'c')];
    for (const m of members) await m.register();
    const observer = await open(proxy.address, 20_000);
    const v = await view(observer, root);
    expect(v.watchMode).to.equal('persistent');
    const events: string[] = [];
    for (const e of ['reconnected', 'session'] as const) observer.on(e, () => events.push(e));
    proxy.refuse(true);
    proxy.reset();
    await eventually('cut off', () => observer.state === 'suspended');
    const d = member(writer, root, 'd');
    await d.register();
    await members[1]!.leave();
    await members[2]!.update({ weight: 7 });
    await sleep(300);
    expect(seen(v), 'nothing seen while cut off').to.deep.equal(['a:1', 'b:1', 'c:1']);
    proxy.refuse(false);
    await eventually('reconnected', () => events.includes('reconnected'), 20_000);
    await converges(v, writer, root, 'the view holds what changed while it was cut off');
    expect(seen(v)).to.deep.equal(['a:1', 'c:7', 'd:1']);
    // The watch was set again on the new connection: later changes arrive without a listing.
    await member(writer, root, 'e').register();
    await members[0]!.leave();
    await converges(v, writer, root, 'later changes');
    expect(seen(v)).to.deep.equal(['c:7', 'd:1', 'e:1']);
    expect(events).to.deep.equal(['reconnected']);
  });

  it('the session expires: the new session sets the watch again and the view converges', async () => {
    const zk = await sharedZooKeeper();
    const root = uniqueRoot('mv-expiry');
    const writer = await open(zk.connectString);
    const a = member(writer, root, 'a');
    await a.register();
    const observer = await open(zk.connectString, 4000);
    const v = await view(observer, root);
    let renewed = false;
    observer.once('session', () => { renewed = true; });
    const creds = observer.credentials!;
    await zk.expireSession(creds.sessionId, creds.password);
    await member(writer, root, 'b').register();
    await eventually('a new session', () => renewed && observer.state === 'connected', 20_000);
    await converges(v, writer, root, 'after the new session');
    await a.update({ weight: 3 });
    await member(writer, root, 'c').register();
    await converges(v, writer, root, 'changes on the new session');
    expect(seen(v)).to.deep.equal(['a:3', 'b:1', 'c:1']);
    expect(v.watchMode).to.equal('persistent');
  });

  it('ZooKeeper restarts: the watch is back after it and the view follows later changes', async () => {
    const zk: ZkCluster = await startZooKeeper({ nodes: 1 });
    cleanups.push(() => zk.close());
    const root = uniqueRoot('mv-restart');
    const writer = await open(zk.connectString, 20_000);
    const a = member(writer, root, 'a');
    await a.register();
    const observer = await open(zk.connectString, 20_000);
    const v = await view(observer, root);
    expect(seen(v)).to.deep.equal(['a:1']);
    await zk.restart(1);
    await zk.waitReady();
    await eventually('both sessions connected again', () => writer.state === 'connected' && observer.state === 'connected', 30_000);
    await writer.retry(() => member(writer, root, 'b').register());
    await writer.retry(() => a.update({ weight: 2 }));
    await converges(v, writer, root, 'changes after the restart');
    // Under load the restart can outlast the writer's session on its own clock: it registers again on a
    // new session, and the old node stays until ZooKeeper expires the restored old session. The view
    // follows ZooKeeper all along and ends on the two members.
    await eventually('the view ends on a:2, b:1', () => seen(v).join() === 'a:2,b:1', 45_000);
    await converges(v, writer, root, 'still equal to ZooKeeper');
  });

  it('the service node is deleted and created again: every member leaves, the new ones come, a new generation', async () => {
    const zk = await sharedZooKeeper();
    const root = uniqueRoot('mv-generation');
    const writer = await open(zk.connectString);
    const operator = await open(zk.connectString);
    await member(writer, root, 'a').register();
    const v = await view(await open(zk.connectString), root);
    const generations: string[] = [];
    v.on('generation', (g) => generations.push(g.generation));
    const first = v.snapshot.generation;
    const s2 = await open(zk.connectString);
    await operator.deleteRecursive(servicePaths('svc', root).servicePath);
    await eventually('every member left', () => v.snapshot.members.length === 0);
    await member(s2, root, 'b').register();
    await eventually('the new member', () => seen(v).join() === 'b:1');
    expect(generations).to.have.length(1);
    expect(generations[0]).to.not.equal(first);
    expect(v.snapshot.generation).to.equal(generations[0]);
  });

  it('lease renewals wake no view: no watch event, no read, no change', async () => {
    const zk = await sharedZooKeeper();
    const root = uniqueRoot('mv-lease');
    const host = await open(zk.connectString, 3000);
    const m = member(host, root, 'primary');
    const election = new Election(host, m, { leaseMs: 600 });
    cleanups.push(() => election.stop());
    election.start();
    await m.register();
    const observer = await open(zk.connectString, 30_000);
    const v = await view(observer, root);
    await eventually('the primary is acknowledged', () => v.snapshot.primary !== undefined, 20_000);
    const leases = servicePaths('svc', root).leases;
    const leaseVersion = async (): Promise<number> => {
      const [name] = (await host.children(leases)).children;
      return (await host.exists(`${leases}/${name!}`))!.version;
    };
    await sleep(300);
    const before = { events: observer.stats.watchEvents, reads: observer.stats.reads - observer.stats.probes, version: v.snapshot.version };
    const renewalsBefore = await leaseVersion();
    await sleep(2000); // renewed every leaseMs/3
    expect(await leaseVersion() - renewalsBefore, 'renewals meanwhile').to.be.at.least(4);
    expect({ events: observer.stats.watchEvents, reads: observer.stats.reads - observer.stats.probes, version: v.snapshot.version }).to.deep.equal(before);
  });

  it('a ZooKeeper without addWatch (older than 3.6): the view uses one-shot watches and follows every change', async () => {
    const zk = await sharedZooKeeper();
    const relay = await oldServerRelay(zk.nodes[0]!.clientPort);
    cleanups.push(() => relay.close());
    const root = uniqueRoot('mv-old');
    const writer = await open(zk.connectString);
    const a = member(writer, root, 'a');
    await a.register();
    const observer = await open(`127.0.0.1:${relay.port}`);
    const v = await view(observer, root);
    expect(v.watchMode).to.equal('children');
    expect(relay.rewritten()).to.equal(1);
    await member(writer, root, 'b').register();
    await a.update({ weight: 4 });
    await converges(v, writer, root, 'join and update');
    await a.leave();
    await converges(v, writer, root, 'leave');
    expect(seen(v)).to.deep.equal(['b:1']);
    expect(relay.rewritten(), 'asked once').to.equal(1);
  });
});
