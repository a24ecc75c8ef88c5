/**
 * Requests issued in one tick leave in one write (issue 15): node-zookeeper-client writes each
 * request on its own, with Nagle off; lib/zk corks its socket per tick. A relay on loopback
 * counts the segments the client sends to a real ZooKeeper. (Measured without the cork: the first
 * request leaves alone and Node's stream gathers the rest into a second write.)
 */
import * as net from 'net';
import { expect } from 'chai';
import { appliedClientFixes, ZkSession } from '../lib/zk';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { uniqueRoot } from './support/wait';

describe('batched ZooKeeper requests (real ZooKeeper behind a counting relay)', function () {
  this.timeout(30_000);

  it('50 reads issued in one tick reach the server in one segment, answered in order', async () => {
    const zkPort = (await sharedZooKeeper()).nodes[0]!.clientPort;
    let segments = 0;
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const upstream = net.connect(zkPort, '127.0.0.1');
      for (const s of [client, upstream]) { sockets.add(s); s.on('error', () => undefined); s.on('close', () => sockets.delete(s)); }
      client.on('data', (b) => { segments++; upstream.write(b); });
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const s = new ZkSession({ connect: `127.0.0.1:${(relay.address() as net.AddressInfo).port}`, sessionTimeoutMs: 10_000, leaseProbe: 'read' });
    try {
      await s.start();
      const root = uniqueRoot('batch');
      await s.create(root, 'x');
      await new Promise((r) => setTimeout(r, 100)); // let the probe settle
      expect(appliedClientFixes()).to.include('corked-writes');
      const before = segments;
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? s.get(root) : s.exists(`${root}/n${i}`))));
      expect(answers.filter((a) => a === null)).to.have.length(25);
      // Without the cork: 2 (Node's stream already gathers the writes queued behind the first one).
      expect(segments - before).to.equal(1);
      await s.delete(root);
    } finally {
      await s.close();
      for (const sock of sockets) sock.destroy();
      relay.close();
    }
  });
});
