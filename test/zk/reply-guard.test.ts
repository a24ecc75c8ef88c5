import { expect } from 'chai';
import { installReplyGuard } from '../../lib/zk/client-fixes/reply-guard';
import type { ConnectionManagerInternals, MalformedReplyInfo } from '../../lib/zk/client-fixes/reply-guard';
import { connectReply, framed, garbage, goodReply, JuteWriter, notification, OPS, seeded } from './jute-fixtures';

/* eslint-disable @typescript-eslint/no-require-imports */
const jute = require('node-zookeeper-client/lib/jute/index.js');
const Exception = require('node-zookeeper-client/lib/Exception.js');
const WatcherManager = require('node-zookeeper-client/lib/WatcherManager.js');
const ACL = require('node-zookeeper-client/lib/ACL.js');
/* eslint-enable @typescript-eslint/no-require-imports */

// The reply guard fed directly, without sockets: a ConnectionManager stand-in with the real jute
// records, Exception and WatcherManager of node-zookeeper-client. integration/zk-reply-fuzz.test.ts
// sends the same garbage through real sockets to a real client.

const CONNECTED = 2;
const CONNECTING = 1;

interface FakeSocket { destroyed: boolean; destroy(): void; setTimeout(ms: number, fn: () => void): void }
interface Harness {
  cm: ConnectionManagerInternals & { onSocketData(chunk: Buffer, borrowed?: boolean): void };
  malformed: MalformedReplyInfo[];
  answers: { error: unknown; response: { payload: unknown } | undefined }[];
  notifications: unknown[];
  newSocket(): void;
}

function harness(chroot?: string): Harness {
  const proto = { onSocketData(this: ConnectionManagerInternals, _chunk: Buffer, _borrowed?: boolean): void { throw new Error('not installed'); } };
  installReplyGuard(proto, jute, Exception);
  const malformed: MalformedReplyInfo[] = [];
  const answers: Harness['answers'] = [];
  const notifications: unknown[] = [];
  const watchers = new WatcherManager();
  const cm = Object.assign(Object.create(proto) as Harness['cm'], {
    state: CONNECTED,
    socket: undefined as FakeSocket | undefined,
    servers: ['127.0.0.1:1'],
    serverAttempts: 0,
    chrootPath: chroot,
    sessionId: Buffer.alloc(8),
    sessionPassword: Buffer.alloc(16),
    zxid: Buffer.alloc(8),
    pingTimeout: 1000,
    pendingQueue: [] as ConnectionManagerInternals['pendingQueue'],
    watcherManager: watchers,
    setState(this: ConnectionManagerInternals, s: number) { this.state = s; },
    updateTimeout(this: ConnectionManagerInternals, t: number) { this.pingTimeout = Math.floor(t / 3); },
    onPacketQueueReadable() { /* nothing queued */ },
    onSocketTimeout() { /* no pings here */ },
    emit(_event: string, info: MalformedReplyInfo) { malformed.push(info); return true; },
  });
  const h: Harness = {
    cm, malformed, answers, notifications,
    newSocket() {
      const s: FakeSocket = { destroyed: false, destroy() { this.destroyed = true; }, setTimeout() { /* */ } };
      (cm as { socket?: unknown }).socket = s;
      cm.pendingQueue = [];
      cm.state = CONNECTED;
    },
  };
  h.newSocket();
  return h;
}

function pend(h: Harness, xid: number, type: number): void {
  h.cm.pendingQueue.push({ request: { header: { xid, type } }, callback: (error, response) => h.answers.push({ error, response: response as { payload: unknown } }) });
}

const destroyed = (h: Harness): boolean => (h.cm.socket as unknown as FakeSocket).destroyed;

describe('zk reply guard (node-zookeeper-client onSocketData replacement)', () => {
  it('decodes well-formed replies like node-zookeeper-client, with ACL records it accepts', () => {
    const h = harness();
    const rand = seeded(1);
    pend(h, 0, OPS.GET_CHILDREN2);
    pend(h, 1, OPS.GET_ACL);
    pend(h, 2, OPS.MULTI);
    pend(h, 3, OPS.GET_DATA);
    h.cm.onSocketData(Buffer.concat([goodReply(OPS.GET_CHILDREN2, 0, rand), goodReply(OPS.GET_ACL, 1, rand), goodReply(OPS.MULTI, 2, rand), goodReply(OPS.GET_DATA, 3, rand)]));
    expect(h.malformed).to.deep.equal([]);
    expect(h.answers).to.have.length(4);
    const acl = (h.answers[1]!.response!.payload as { acl: unknown[] }).acl;
    expect(acl.map((a) => ACL.fromRecord(a))).to.deep.equal([
      new ACL(31, new (require('node-zookeeper-client/lib/Id.js'))('world', 'anyone')), // eslint-disable-line @typescript-eslint/no-require-imports
      new ACL(1, new (require('node-zookeeper-client/lib/Id.js'))('digest', 'u:abc')), // eslint-disable-line @typescript-eslint/no-require-imports
    ]);
    const multi = (h.answers[2]!.response!.payload as { results: { type: number }[] }).results;
    expect(multi.map((r) => r.type)).to.deep.equal([13, 5]);
    const data = h.answers[3]!.response!.payload as { data: Buffer; stat: { version: number; czxid: Buffer } };
    expect(JSON.parse(data.data.toString())).to.have.property('url');
    expect(data.stat.czxid.readBigInt64BE(0)).to.equal(5n);
  });

  it('borrowed chunks (one read buffer reused for every read): frames split across reads decode exactly, direct requests get their own decoding', () => {
    const h = harness();
    const rand = seeded(7);
    const replies = [goodReply(OPS.GET_CHILDREN2, 0, rand), goodReply(OPS.GET_DATA, 1, rand), goodReply(OPS.MULTI, 2, rand), goodReply(OPS.GET_DATA, 3, rand)];
    const direct: unknown[] = [];
    pend(h, 0, OPS.GET_CHILDREN2);
    pend(h, 1, OPS.GET_DATA);
    pend(h, 2, OPS.MULTI);
    h.cm.pendingQueue.push({
      request: { header: { xid: 3, type: OPS.GET_DATA }, decode: (r) => ({ data: r.buffer('data'), stat: r.znodeStat() }) },
      callback: (error, result) => direct.push({ error, result }),
    });
    const all = Buffer.concat(replies);
    const reused = Buffer.alloc(all.length);
    // Every split point of the stream in two reads, then reads of 1..7 bytes.
    const feed = (cuts: number[]): void => {
      let at = 0;
      for (const cut of [...cuts, all.length]) {
        const n = all.copy(reused, 0, at, cut);
        h.cm.onSocketData(reused.subarray(0, n), true);
        reused.fill(0xee); // the next read overwrites the buffer
        at = cut;
      }
    };
    feed([5, 37, 38, all.length - 3]);
    expect(h.malformed).to.deep.equal([]);
    expect(h.answers).to.have.length(3);
    expect(direct).to.have.length(1);
    const plain = h.answers[1]!.response!.payload as { data: Buffer; stat: { czxid: Buffer; ephemeralOwner: Buffer; version: number } };
    const mine = (direct[0] as { result: { data: Buffer; stat: { czxid: bigint; ephemeralOwner: string; version: number } } }).result;
    expect(JSON.parse(mine.data.toString())).to.have.property('url');
    expect(mine.stat.czxid).to.equal(plain.stat.czxid.readBigInt64BE(0));
    expect(mine.stat.ephemeralOwner).to.equal(plain.stat.ephemeralOwner.toString('hex'));
    expect(mine.stat.version).to.equal(plain.stat.version);
    for (let step = 1; step <= 7; step++) {
      const again = harness();
      for (let x = 0; x < 4; x++) pend(again, x, [OPS.GET_CHILDREN2, OPS.GET_DATA, OPS.MULTI, OPS.GET_DATA][x]!);
      const buf = Buffer.alloc(step);
      for (let at = 0; at < all.length; at += step) {
        const n = all.copy(buf, 0, at, Math.min(all.length, at + step));
        again.cm.onSocketData(buf.subarray(0, n), true);
        buf.fill(0xee);
      }
      expect(again.malformed).to.deep.equal([]);
      expect(again.answers.slice(0, 3).map((a) => a.response!.payload)).to.deep.equal(h.answers.map((a) => a.response!.payload));
      expect((again.answers[3]!.response!.payload as { data: Buffer }).data.equals(mine.data)).to.equal(true);
    }
  });

  it('strips the chroot from created paths and notification paths, and refuses paths outside it', () => {
    const h = harness('/app');
    const seen: string[] = [];
    h.cm.watcherManager = { emit: (e: { path: string }) => seen.push(e.path) } as never;
    pend(h, 0, OPS.CREATE);
    h.cm.onSocketData(new JuteWriter().int(0).long(9n).int(0).string('/app/svc/m-1').frame());
    h.cm.onSocketData(notification(4, '/app/svc'));
    h.cm.onSocketData(notification(4, '/app'));
    expect((h.answers[0]!.response!.payload as { path: string }).path).to.equal('/svc/m-1');
    expect(seen).to.deep.equal(['/svc', '/']);
    h.cm.onSocketData(notification(4, '/application'));
    expect(h.malformed.map((m) => m.reason)).to.deep.equal(['event path is outside the chroot']);
  });

  it('treats the defects found against node-zookeeper-client as connection losses, allocating nothing big', () => {
    const cases: [string, Buffer, number?][] = [
      ['negative frame length', framed(Buffer.alloc(20), -5)],
      ['zero frame length', framed(Buffer.alloc(0))],
      ['frame length 2^31-1', framed(Buffer.alloc(0), 0x7fffffff)],
      ['short reply (header cut)', framed(Buffer.alloc(10))],
      ['payload missing', new JuteWriter().int(0).long(1n).int(0).frame(), OPS.EXISTS],
      ['data length 2^31-1', new JuteWriter().int(0).long(1n).int(0).int(0x7fffffff).frame(), OPS.GET_DATA],
      ['string length -7', new JuteWriter().int(0).long(1n).int(0).int(3).int(-7).frame(), OPS.GET_CHILDREN2],
      ['vector count 2^31-1', new JuteWriter().int(0).long(1n).int(0).int(0x7fffffff).frame(), OPS.GET_CHILDREN2],
      ['unknown event type', notification(99, '/x')],
    ];
    for (const [name, input, op] of cases) {
      const h = harness();
      pend(h, 0, op ?? OPS.EXISTS);
      const before = process.memoryUsage().arrayBuffers;
      expect(() => h.cm.onSocketData(input), name).not.to.throw();
      expect(process.memoryUsage().arrayBuffers - before, name).to.be.below(1 << 20);
      if (name === 'unknown event type') {
        expect(h.malformed, name).to.deep.equal([]); // dropped quietly: a newer server may send types this client does not know
        continue;
      }
      expect(h.malformed, name).to.have.length(1);
      expect(destroyed(h), name).to.equal(true);
      expect(h.answers, name).to.deep.equal([]); // the request stays pending: it fails with CONNECTION_LOSS on close
    }
  });

  it('refuses a connect reply whose password claims 2^31 bytes, or any other bad handshake', () => {
    const bad = [
      new JuteWriter().int(0).int(4000).long(1n).int(0x7fffffff).frame(),
      new JuteWriter().int(0).int(4000).long(1n).int(-2).frame(),
      new JuteWriter().int(7).int(4000).long(1n).bytes(Buffer.alloc(16)).frame(),
      new JuteWriter().int(0).int(4000).long(1n).bytes(Buffer.alloc(16)).raw(Buffer.alloc(9)).frame(),
      framed(Buffer.alloc(3)),
    ];
    for (const input of bad) {
      const h = harness();
      h.cm.state = CONNECTING;
      h.cm.onSocketData(input);
      expect(h.malformed).to.have.length(1);
      expect(h.malformed[0]!.phase).to.equal('connect');
      expect(h.cm.state).to.equal(CONNECTING);
    }
    const h = harness();
    h.cm.state = CONNECTING;
    h.cm.onSocketData(connectReply(6000, 0xabcn));
    expect(h.cm.state).to.equal(CONNECTED);
    expect(h.cm.sessionId.toString('hex')).to.equal('0000000000000abc');
    expect(h.cm.pingTimeout).to.equal(2000);
  });

  it('does not glue bytes left by a dead connection to the next one', () => {
    const h = harness();
    pend(h, 0, OPS.EXISTS);
    const reply = goodReply(OPS.EXISTS, 0, seeded(3));
    h.cm.onSocketData(reply.subarray(0, 10)); // half a reply, then the socket dies
    h.newSocket();
    h.cm.state = CONNECTING;
    h.cm.onSocketData(connectReply());
    expect(h.malformed).to.deep.equal([]);
    expect(h.cm.state).to.equal(CONNECTED);
  });

  it('handles 100 000 replies in one chunk without recursion or quadratic copying', () => {
    const h = harness();
    const ping = new JuteWriter().int(-2).long(0n).int(0).frame();
    const chunk = Buffer.concat(Array.from({ length: 100_000 }, () => ping));
    const t0 = process.cpuUsage();
    h.cm.onSocketData(chunk);
    const cpu = process.cpuUsage(t0);
    expect(h.malformed).to.deep.equal([]);
    // The original re-copies the rest of the chunk for every reply (~80 GB here) and recurses 100 000 deep.
    expect((cpu.user + cpu.system) / 1000).to.be.below(1000);
  });

  it('survives 20 000 seeded hostile replies: no throw, bounded memory, no input costing 50 ms of CPU', function () {
    this.timeout(120_000);
    const seed = 0x5eed;
    const rand = seeded(seed);
    const ops = Object.values(OPS);
    const h = harness();
    let worstCpuMs = 0;
    let parsed = 0;
    const heapBefore = process.memoryUsage();
    let scratch = Buffer.alloc(64 * 1024);
    for (let i = 0; i < 20_000; i++) {
      const connect = rand() < 0.1;
      let input: Buffer;
      if (connect) {
        h.cm.state = CONNECTING;
        input = garbageConnect(rand);
      } else {
        const op = ops[Math.floor(rand() * ops.length)]!;
        const xid = Math.floor(rand() * 1000);
        pend(h, xid, op);
        input = rand() < 0.2 ? goodReply(op, xid, rand) : garbage(rand, xid, op);
      }
      const t0 = process.cpuUsage();
      try {
        // Split at random points: framing must not care how the bytes arrive.
        // Every other input arrives in one reused read buffer (socket-reads.ts), scribbled over after each read.
        const borrowed = i % 2 === 1;
        let at = 0;
        while (at < input.length) {
          const step = rand() < 0.5 ? input.length : 1 + Math.floor(rand() * 64);
          const piece = input.subarray(at, at + step);
          if (borrowed) {
            if (scratch.length < piece.length) scratch = Buffer.alloc(piece.length);
            piece.copy(scratch);
            h.cm.onSocketData(scratch.subarray(0, piece.length), true);
            scratch.fill(0xee, 0, piece.length);
          } else {
            h.cm.onSocketData(piece);
          }
          at += step;
        }
      } catch (error) {
        throw new Error(`seed ${seed} case ${i}: ${String(error)} (input ${input.subarray(0, 64).toString('hex')})`);
      }
      const cpu = process.cpuUsage(t0);
      worstCpuMs = Math.max(worstCpuMs, (cpu.user + cpu.system) / 1000);
      parsed += h.answers.length;
      h.answers.length = 0;
      // Every input stands alone: a fresh connection after a drop, and nothing left pending.
      if (destroyed(h) || h.cm.state !== CONNECTED || h.cm.pendingQueue.length > 0) h.newSocket();
    }
    const after = process.memoryUsage();
    console.log(`      20 000 inputs: ${h.malformed.length} refused as malformed, ${parsed} answered, worst input ${worstCpuMs.toFixed(1)} ms CPU, ` +
      `arrayBuffers ${((after.arrayBuffers - heapBefore.arrayBuffers) / 1048576).toFixed(1)} MiB`);
    expect(worstCpuMs, 'worst CPU ms for one input').to.be.below(50);
    expect(after.arrayBuffers - heapBefore.arrayBuffers).to.be.below(64 << 20);
    expect(h.malformed.length, 'inputs reported as malformed').to.be.greaterThan(10_000);
    expect(parsed, 'well-formed replies answered').to.be.greaterThan(2_000);
  });
});

function garbageConnect(rand: () => number): Buffer {
  const good = connectReply();
  const b = Buffer.from(good);
  switch (Math.floor(rand() * 4)) {
    case 0: for (let i = 4; i < b.length; i++) b[i] = Math.floor(rand() * 256); return b;
    case 1: b.writeInt32BE([0x7fffffff, -1, -2, 17, 1 << 30][Math.floor(rand() * 5)]!, 20); return b; // passwd length
    case 2: return framed(b.subarray(4, 4 + Math.floor(rand() * 36)));
    default: return framed(Buffer.alloc(0), [0, -1, 0x7fffffff, 19, 5][Math.floor(rand() * 5)]!);
  }
}
