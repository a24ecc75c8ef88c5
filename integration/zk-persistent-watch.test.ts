/**
 * Persistent recursive watches (issue 15): ZkSession.watchRecursive over node-zookeeper-client's
 * runtime fix (lib/zk/client-fixes/persistent-watch.ts), against a real ZooKeeper 3.8 — events for
 * every descendant without re-arming, one-shot watches on the same nodes still fire, the watch
 * survives a reconnect (SetWatches2), a chroot, and what an older server answers.
 */
import { expect } from 'chai';
import { TcpProxy } from './harness';
import { oldServerRelay } from './support/old-server-relay';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot } from './support/wait';
import { appliedClientFixes, ZkError, ZkSession } from '../lib/zk';
import type { WatchEvent } from '../lib/zk';

describe('persistent recursive watches (real ZooKeeper)', function () {
  this.timeout(30_000);
  const sessions: ZkSession[] = [];
  const cleanups: (() => unknown)[] = [];

  async function open(connect?: string): Promise<ZkSession> {
    const s = new ZkSession({ connect: connect ?? (await sharedZooKeeper()).connectString, sessionTimeoutMs: 10_000 });
    sessions.push(s);
    await s.start();
    return s;
  }
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });

  it('hears created, dataChanged and deleted at and below the path, every time, without re-arming', async () => {
    expect(appliedClientFixes()).to.include('persistent-watch');
    const [watcher, writer] = [await open(), await open()];
    const root = uniqueRoot('pw');
    const events: WatchEvent[] = [];
    await watcher.watchRecursive(`${root}/dir`, (e) => events.push(e));
    await writer.mkdirp(`${root}/dir`);
    await writer.create(`${root}/dir/a`, '1');
    await writer.set(`${root}/dir/a`, '2');
    await writer.set(`${root}/dir/a`, '3');
    await writer.create(`${root}/dir/a/deep`, 'x');
    await writer.create(`${root}/sibling`, 'not below');
    await writer.create(`${root}/dir-x`, 'prefix, not below');
    await writer.delete(`${root}/dir/a/deep`);
    await writer.delete(`${root}/dir/a`);
    const expected = [
      ['created', `${root}/dir`], ['created', `${root}/dir/a`], ['dataChanged', `${root}/dir/a`], ['dataChanged', `${root}/dir/a`],
      ['created', `${root}/dir/a/deep`], ['deleted', `${root}/dir/a/deep`], ['deleted', `${root}/dir/a`],
    ];
    await eventually('all events', () => events.length >= expected.length, 5000);
    await sleep(200);
    expect(events.map((e) => [e.type, e.path])).to.deep.equal(expected);
    expect(watcher.stats.watchEvents).to.equal(expected.length);
    await writer.deleteRecursive(root);
  });

  it('one-shot watches on the same nodes still fire once, next to the recursive watch', async () => {
    const [watcher, writer] = [await open(), await open()];
    const root = uniqueRoot('pw');
    await writer.mkdirp(`${root}/dir/n`);
    const recursive: string[] = [];
    const oneShot: string[] = [];
    await watcher.watchRecursive(`${root}/dir`, (e) => recursive.push(`${e.type} ${e.path}`));
    await watcher.get(`${root}/dir/n`, { watch: (e) => oneShot.push(`${e.type} ${e.path}`) });
    await watcher.children(`${root}/dir`, { watch: (e) => oneShot.push(`${e.type} ${e.path}`) });
    await writer.set(`${root}/dir/n`, 'a');
    await writer.set(`${root}/dir/n`, 'b');
    await writer.create(`${root}/dir/m`);
    await eventually('events', () => recursive.length >= 3 && oneShot.length >= 2, 5000);
    await sleep(200);
    expect(recursive).to.deep.equal([`dataChanged ${root}/dir/n`, `dataChanged ${root}/dir/n`, `created ${root}/dir/m`]);
    // childrenChanged (from the one-shot children watch) is not passed to the recursive watcher.
    expect(oneShot).to.deep.equal([`dataChanged ${root}/dir/n`, `childrenChanged ${root}/dir`]);
    await writer.deleteRecursive(root);
  });

  it('the stop function ends delivery', async () => {
    const [watcher, writer] = [await open(), await open()];
    const root = uniqueRoot('pw');
    const events: string[] = [];
    const stop = await watcher.watchRecursive(root, (e) => events.push(e.type));
    await writer.create(root);
    await eventually('created', () => events.length === 1, 5000);
    stop();
    await writer.create(`${root}/x`);
    await writer.deleteRecursive(root);
    await sleep(300);
    expect(events).to.deep.equal(['created']);
  });

  it('survives a reconnect (SetWatches2): changes after it are heard, without a new addWatch', async () => {
    const zk = await sharedZooKeeper();
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.nodes[0]!.clientPort });
    cleanups.push(() => proxy.close());
    const watcher = await open(proxy.address);
    const writer = await open();
    const root = uniqueRoot('pw');
    await writer.mkdirp(root);
    const events: string[] = [];
    await watcher.watchRecursive(root, (e) => events.push(`${e.type} ${e.path.slice(root.length)}`));
    let reconnected = 0;
    watcher.on('reconnected', () => reconnected++);
    proxy.reset();
    await eventually('reconnected', () => reconnected === 1 && watcher.state === 'connected', 10_000);
    const reads = watcher.stats.reads;
    await writer.create(`${root}/after`, 'x');
    await writer.set(`${root}/after`, 'y');
    await eventually('events after the reconnect', () => events.length >= 2, 5000);
    expect(events).to.deep.equal(['created /after', 'dataChanged /after']);
    expect(watcher.stats.reads - reads, 'no request re-adds the watch').to.be.at.most(1); // a lease probe may run
    await writer.deleteRecursive(root);
  });

  it('works under a chroot: paths are reported relative to it', async () => {
    const zk = await sharedZooKeeper();
    const root = uniqueRoot('pw');
    const writer = await open();
    await writer.mkdirp(`${root}/chroot`);
    const watcher = await open(`${zk.connectString}${root}/chroot`);
    const events: string[] = [];
    await watcher.watchRecursive('/svc', (e) => events.push(`${e.type} ${e.path}`));
    await writer.mkdirp(`${root}/chroot/svc/a`);
    await eventually('events', () => events.length >= 2, 5000);
    expect(events).to.deep.equal(['created /svc', 'created /svc/a']);
    // getData (client-fixes/direct-get) under the chroot: the path is sent with it, the stat comes back.
    await writer.set(`${root}/chroot/svc/a`, 'rec');
    const got = await watcher.get('/svc/a');
    expect(got.data.toString()).to.equal('rec');
    expect(got.stat.version).to.equal(1);
    expect((await watcher.get('/')).stat.czxid).to.equal((await writer.get(`${root}/chroot`)).stat.czxid);
    let fired = '';
    await watcher.get('/svc/a', { watch: (e) => { fired = `${e.type} ${e.path}`; } });
    await writer.set(`${root}/chroot/svc/a`, 'rec2');
    await eventually('the data watch', () => fired !== '', 5000);
    expect(fired).to.equal('dataChanged /svc/a');
    await writer.deleteRecursive(root);
  });

  it('a server without addWatch (older than 3.6) answers UNIMPLEMENTED and drops the connection; the session carries on', async () => {
    const zk = await sharedZooKeeper();
    const relay = await oldServerRelay(zk.nodes[0]!.clientPort);
    cleanups.push(() => relay.close());
    const s = await open(`127.0.0.1:${relay.port}`);
    const error = await s.watchRecursive('/', () => undefined).then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(ZkError);
    expect((error as ZkError).code).to.equal('UNIMPLEMENTED');
    expect(relay.rewritten()).to.equal(1);
    const id = s.sessionId;
    // ZooKeeper's UnimplementedRequestProcessor closes the connection after its answer.
    expect(await s.retry(() => s.exists('/'))).to.not.equal(null);
    expect(s.sessionId).to.equal(id);
  });
});
