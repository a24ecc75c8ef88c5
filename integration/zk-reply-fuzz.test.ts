/**
 * A hostile or broken ZooKeeper server (issue 13 item 6): a fake server on loopback answers the
 * ConnectRequest with garbage, or relays a real ZooKeeper and slips garbage replies between its
 * frames. A reply that does not parse is a connection loss and a 'rejected-input' fault — never an
 * exception out of node-zookeeper-client's socket handler — and the session recovers against the
 * real ZooKeeper afterwards. test/zk/reply-guard.test.ts feeds 20 000 more inputs to the decoder.
 */
import { spawnSync } from 'child_process';
import * as net from 'net';
import { monitorEventLoopDelay } from 'perf_hooks';
import { expect } from 'chai';
import { HaServer } from '../lib';
import type { FaultReport } from '../lib';
import { ZkSession } from '../lib/zk';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, uniqueRoot, within } from './support/wait';
import { connectReply, framed, garbage, OPS, seeded } from '../test/zk/jute-fixtures';
import type { Rand } from '../test/zk/jute-fixtures';

type Mode = 'garbage-connect' | 'relay';

/** A loopback server that relays ZooKeeper frame by frame and can replace or add replies. */
class HostileZooKeeper {
  mode: Mode = 'garbage-connect';
  /** While > 0, one garbage frame goes to each connection after its next relayed reply (not the handshake). */
  inject = 0;
  sent = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number, private readonly target: number, private readonly rand: Rand) {}

  static async start(target: number, rand: Rand): Promise<HostileZooKeeper> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const h = new HostileZooKeeper(server, (server.address() as net.AddressInfo).port, target, rand);
    server.on('connection', (c) => h.accept(c));
    return h;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (this.mode === 'garbage-connect') {
      client.once('data', () => {
        this.sent++;
        client.end(garbageConnect(this.rand));
      });
      return;
    }
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => { this.sockets.delete(upstream); client.destroy(); });
    upstream.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    let frames = 0;
    let poisoned = false;
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = 4 + pending.readInt32BE(0);
        client.write(pending.subarray(0, size));
        pending = pending.subarray(size);
        if (poisoned) {
          poisoned = false; // that garbage parsed (a notification nobody watches…): the connection lives on
          continue;
        }
        // Garbage after a real reply, never two in a row: the client drops the connection on most.
        if (frames++ > 0 && this.inject > 0 && !poisoned) {
          poisoned = true;
          this.inject--;
          this.sent++;
          const op = Object.values(OPS)[Math.floor(this.rand() * Object.values(OPS).length)]!;
          client.write(garbage(this.rand, Math.floor(this.rand() * 50), op));
        }
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function garbageConnect(rand: Rand): Buffer {
  const b = Buffer.from(connectReply());
  switch (Math.floor(rand() * 5)) {
    case 0: for (let i = 4; i < b.length; i++) b[i] = Math.floor(rand() * 256); return b;
    case 1: b.writeInt32BE(0x7fffffff, 20); return b; // a session password of 2^31-1 bytes
    case 2: return framed(b.subarray(4, 4 + Math.floor(rand() * 36)));
    case 3: return framed(Buffer.alloc(0), [0, -1, -0x80000000, 0x7fffffff][Math.floor(rand() * 4)]!);
    default: {
      const junk = Buffer.alloc(1 + Math.floor(rand() * 300));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
      return junk;
    }
  }
}

describe('hostile ZooKeeper replies (fake server on loopback, then real ZooKeeper)', function () {
  this.timeout(120_000);
  let zkPort: number;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    zkPort = (await sharedZooKeeper()).nodes[0]!.clientPort;
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function hostile(seed: number): Promise<HostileZooKeeper> {
    const h = await HostileZooKeeper.start(zkPort, seeded(seed));
    cleanups.push(() => h.close());
    return h;
  }

  function session(connect: string): ZkSession {
    const s = new ZkSession({ connect, sessionTimeoutMs: 4000, spinDelayMs: 5, startTimeoutMs: 100_000, leaseProbe: 'read' });
    cleanups.push(() => s.close());
    return s;
  }

  it('bare library in a fresh process: one connect reply with a negative password length kills the process', () => {
    // The ConnectResponse {protocolVersion 0, timeOut 4000, sessionId, passwd length -2}.
    const script = `
      const net = require('net');
      const reply = Buffer.alloc(24); reply.writeInt32BE(20, 0); reply.writeInt32BE(4000, 8); reply.writeInt32BE(-2, 20);
      const server = net.createServer((c) => c.once('data', () => c.write(reply))).listen(0, '127.0.0.1', () => {
        const client = require('node-zookeeper-client').createClient('127.0.0.1:' + server.address().port, { retries: 0 });
        client.connect();
        setTimeout(() => { console.log('survived'); process.exit(0); }, 3000);
      });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout).not.to.contain('survived');
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(/RangeError|ERR_OUT_OF_RANGE|ERR_INVALID_ARG_VALUE/);
  });

  it('garbage answers to the ConnectRequest: 300 of them, no crash, bounded memory; the session connects once the server is honest', async () => {
    const h = await hostile(0xc0ffee);
    const s = session(h.address);
    const events: number[] = [];
    s.on('malformedReply', (i) => events.push(i.count));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const rss0 = process.memoryUsage().rss;
    let rssMax = rss0;
    const started = s.start();
    await eventually('300 garbage handshakes sent', () => {
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      return h.sent >= 300;
    }, 100_000);
    delay.disable();
    expect(s.state).to.equal('connecting');
    h.mode = 'relay';
    await within(30_000, 'a session through the honest server', started);
    const root = uniqueRoot('reply');
    await s.create(root, 'ok');
    expect((await s.get(root)).data.toString()).to.equal('ok');
    await s.delete(root);
    // Some garbage is only a truncated stream (a plain connection loss); most is refused as malformed.
    expect(s.stats.malformedReplies).to.be.greaterThan(150);
    await eventually('the rate-limited report covers them', () => events.reduce((a, b) => a + b, 0) >= s.stats.malformedReplies - 1, 5000);
    expect(events.length).to.be.below(s.stats.malformedReplies);
    expect(rssMax - rss0, 'RSS growth (bytes)').to.be.below(200 << 20);
    console.log(`      garbage handshakes: ${h.sent}, malformed: ${s.stats.malformedReplies}, reports: ${events.length}, ` +
      `max event-loop delay ${(delay.max / 1e6).toFixed(1)} ms, RSS +${((rssMax - rss0) / 1048576).toFixed(1)} MiB`);
  });

  it('garbage slipped between real replies: 300 of them, requests fail as connection losses, the session lives on', async () => {
    const h = await hostile(0xbadf00d);
    h.mode = 'relay';
    // A garbage length within the cap makes the client wait for bytes that never come, until the
    // read-timeout watchdog drops the connection: keep that wait short here.
    const s = new ZkSession({
      connect: h.address, sessionTimeoutMs: 4000, readTimeoutFraction: 0.15, spinDelayMs: 5, leaseProbe: 'read', maxReplyBytes: 64 * 1024,
    });
    cleanups.push(() => s.close());
    await s.start();
    const firstSession = s.sessionId;
    const root = uniqueRoot('reply');
    await s.create(root, 'x');
    const outcomes = new Map<string, number>();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const rss0 = process.memoryUsage().rss;
    let rssMax = rss0;
    h.inject = 300;
    const deadline = Date.now() + 90_000;
    while (h.inject > 0 && s.state !== 'closed' && Date.now() < deadline) {
      const ops = [s.get(root), s.children(root), s.exists(`${root}/none`), s.getAcl(root), s.set(root, 'y')];
      for (const r of await Promise.allSettled(ops)) {
        const key = r.status === 'fulfilled' ? 'ok' : String((r.reason as { code?: string }).code);
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
    delay.disable();
    expect(h.inject, 'garbage frames not yet sent').to.equal(0);
    // Only connection-level outcomes: a garbage reply never turns into a wrong answer or a crash.
    expect([...outcomes.keys()].every((k) => ['ok', 'CONNECTION_LOSS', 'TIMEOUT'].includes(k)), JSON.stringify([...outcomes])).to.equal(true);
    await eventually('connected again', () => s.state === 'connected');
    expect((await s.get(root)).data.toString()).to.equal('y');
    expect(s.sessionId).to.equal(firstSession); // the relay never lost the real session
    // Garbage that parses (a notification nobody watches) changes nothing; a length that fits the cap
    // is a connection the watchdog drops; garbage sent after the client dropped a connection is never
    // read. The rest — most of what the client reads — is refused as malformed.
    expect(s.stats.malformedReplies).to.be.greaterThan(75);
    expect(rssMax - rss0, 'RSS growth (bytes)').to.be.below(200 << 20);
    await s.deleteRecursive(root);
    console.log(`      injected: ${h.sent}, malformed: ${s.stats.malformedReplies}, dropped by the watchdog: ${s.stats.abandonedConnections}, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}, ` +
      `max event-loop delay ${(delay.max / 1e6).toFixed(1)} ms, RSS +${((rssMax - rss0) / 1048576).toFixed(1)} MiB`);
  });

  it('an HaServer reports a garbage reply as rejected-input and keeps serving', async () => {
    const h = await hostile(7);
    h.mode = 'relay';
    const server = new HaServer({
      zk: { connect: h.address, sessionTimeoutMs: 4000, spinDelayMs: 5 }, service: 'svc', mode: 'primary-backup', root: uniqueRoot('reply'),
      handlers: { echo: (p) => p },
    });
    cleanups.push(() => server.close({ graceMs: 0 }));
    const faults: FaultReport[] = [];
    server.on('fault', (f) => faults.push(f));
    await server.start();
    await eventually('elected', () => server.isPrimary());
    h.inject = 1;
    await server.session.exists('/').catch(() => undefined);
    await eventually('rejected-input reported', () => faults.some((f) => f.kind === 'rejected-input' && f.detail.source === 'zookeeper'));
    await eventually('primary again', () => server.isPrimary(), 20_000);
  });
});
