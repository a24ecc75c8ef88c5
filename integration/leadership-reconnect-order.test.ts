import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { startZooKeeper, TcpProxy, type ZkCluster } from './harness';
import { Candidates } from './support/candidates';
import { Sessions } from './support/sessions';
import { eventually, sleep, uniqueRoot } from './support/wait';

// Found by a red-team run (session 10): the successor's connection to ZooKeeper breaks and comes
// back in the same session while the primary keeps renewing; an operator deletes the primary's
// member node. On the reconnect ZooKeeper replays the successor's watches in the order the client
// lists them (SetWatches) — the member node before the lease node — not in zxid order, so the
// deletion arrived "with no lease event before it" and the successor counted from a lease version
// read before the break: it led while the primary still held a lease it had renewed since.
// The primary's link is slow (120 ms each way), so it learns of its own deletion late.
const LEASE_MS = 300;
const TRIALS = 3;

describe('leadership: a departure replayed after a reconnect is not ordered against the lease', function () {
  this.timeout(120_000);
  let zk: ZkCluster;
  let proxyA: TcpProxy;
  let proxyB: TcpProxy;
  const sessions = new Sessions(() => ({ connect: zk.connectString, sessionTimeoutMs: 6000 }));
  const candidates = new Candidates(sessions);

  before(async () => {
    zk = await startZooKeeper({ nodes: 1 });
    const port = Number(zk.connectString.split(',')[0]!.split(':')[1]);
    proxyA = await TcpProxy.start({ host: '127.0.0.1', port });
    proxyB = await TcpProxy.start({ host: '127.0.0.1', port });
  });
  after(async () => {
    candidates.stopAll();
    await sessions.closeAll();
    await proxyA?.close();
    await proxyB?.close();
    await zk?.close();
  });

  it('the successor never leads while the old primary still holds its lease', async () => {
    const admin = await sessions.open();
    const overlaps: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const root = uniqueRoot('reconnect-order');
      proxyA.delay(0);
      const a = await candidates.start(root, 'a', { connect: `127.0.0.1:${proxyA.port}`, leaseMs: LEASE_MS });
      await eventually('a leads', () => a.election.isLeader());
      const b = await candidates.start(root, 'b', { connect: `127.0.0.1:${proxyB.port}`, leaseMs: LEASE_MS });
      await sleep(LEASE_MS * 2);
      proxyA.delay(120);
      await sleep(LEASE_MS * 2);
      let aLastLeads = 0;
      let bElectedAt = 0;
      const poll = setInterval(() => {
        if (a.election.isLeader()) aLastLeads = performance.now();
      }, 1);
      b.election.once('elected', () => (bElectedAt = performance.now()));
      // b's link breaks; its reconnection (connect request + SetWatches) is held meanwhile.
      proxyB.blackhole();
      proxyB.reset();
      await sleep(LEASE_MS * 3);
      // Right after one of a's renewals is answered: delete a's member node, then let b back in.
      const holder = (a.election as unknown as { leading: { holder: { renewals: number } } }).leading.holder;
      const before = holder.renewals;
      await eventually('a renews', () => holder.renewals !== before, 5000, 1);
      await admin.delete(a.membership.node!.path);
      proxyB.heal();
      await eventually('b leads', () => b.election.isLeader(), 10_000, 1);
      await sleep(LEASE_MS * 2);
      clearInterval(poll);
      overlaps.push(Math.max(0, aLastLeads - bElectedAt));
      candidates.stopAll();
      await sleep(100);
    }
    expect(overlaps.filter((ms) => ms > 0), `overlap of the two leaders per trial (ms): ${overlaps.map((ms) => ms.toFixed(1)).join(', ')}`).to.deep.equal([]);
  });
});
