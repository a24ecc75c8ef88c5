import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { Writable, type Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { RpcConnection, RpcServer } from '../../lib/transport';
import { FrameWriter } from '../../lib/transport/frame-writer';

/** Every length class of the ws header (7-bit, 16-bit, 64-bit), both sides of the copy limit. */
const SIZES = [0, 1, 125, 126, 127, 1000, 16 * 1024, 16 * 1024 + 1, 65535, 65536, 70_000, 300_000];

function message(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

interface Pair {
  wss: WebSocketServer;
  client: WebSocket;
  clientSocket: Duplex;
  server: WebSocket;
  serverSocket: Duplex;
}

async function pair(): Promise<Pair> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  const accepted = new Promise<{ ws: WebSocket; socket: Duplex }>((resolve) => wss.once('connection', (ws, req) => resolve({ ws, socket: req.socket })));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
  let clientSocket: Duplex | undefined;
  client.once('upgrade', (res) => (clientSocket = res.socket));
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  const { ws: server, socket: serverSocket } = await accepted;
  return { wss, client, clientSocket: clientSocket!, server, serverSocket };
}

function collect(ws: WebSocket, n: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) reject(new Error('text frame'));
      got.push(Buffer.from(data));
      if (got.length === n) resolve(got);
    });
    ws.once('close', () => reject(new Error(`closed after ${got.length} of ${n} messages`)));
  });
}

async function close(p: Pair): Promise<void> {
  p.client.terminate();
  p.server.terminate();
  await new Promise((r) => p.wss.close(r));
}

describe('transport frame writer', () => {
  it('client frames (zero masking key) of every length class reach a ws server intact and in order, batched or not', async () => {
    const p = await pair();
    try {
      const writer = new FrameWriter(p.clientSocket, true);
      const sent = [...SIZES.map((s, i) => message(s, i)), ...SIZES.map((s, i) => message(s, i + 100))];
      const received = collect(p.server, sent.length);
      // One tick with every size, then one frame per tick.
      for (const m of sent.slice(0, SIZES.length)) writer.write(m);
      for (const m of sent.slice(SIZES.length)) {
        await new Promise((r) => setImmediate(r));
        writer.write(m);
      }
      const got = await received;
      expect(got.map((b) => b.length)).to.deep.equal(sent.map((b) => b.length));
      got.forEach((b, i) => expect(b.equals(sent[i]!), `message ${i}`).to.equal(true));
    } finally {
      await close(p);
    }
  });

  it('server frames (unmasked) reach a ws client intact, and ws ping/close still work between batches', async () => {
    const p = await pair();
    try {
      const writer = new FrameWriter(p.serverSocket, false);
      const sent = SIZES.map((s, i) => message(s, i + 7));
      const received = collect(p.client, sent.length);
      const pong = new Promise((r) => p.server.once('pong', r));
      for (const m of sent) writer.write(m);
      p.server.ping();
      const got = await received;
      await pong;
      got.forEach((b, i) => expect(b.equals(sent[i]!), `message ${i}`).to.equal(true));
      // flush() before close: the queued frame leaves before the close frame.
      const last = collect(p.client, 1);
      const closed = new Promise<number>((r) => p.client.once('close', (code: number) => r(code)));
      writer.write(message(10, 1));
      writer.flush();
      p.server.close(1000, 'bye');
      expect((await last)[0]!.equals(message(10, 1))).to.equal(true);
      expect(await closed).to.equal(1000);
    } finally {
      await close(p);
    }
  });

  it('counts queued bytes until the tick ends, and drops frames quietly once the socket is gone', async () => {
    const p = await pair();
    try {
      const writer = new FrameWriter(p.clientSocket, true);
      writer.write(message(10, 0)); // 2 header + 4 mask + 10
      writer.write(message(200, 0)); // 4 header + 4 mask + 200
      writer.write(message(70_000, 0)); // 10 header + 4 mask + 70 000
      expect(writer.pendingBytes).to.equal(16 + 208 + 70_014);
      await new Promise((r) => process.nextTick(r));
      expect(writer.pendingBytes).to.equal(0);
      p.clientSocket.destroy();
      writer.write(message(10, 0));
      expect(() => writer.flush()).not.to.throw();
      expect(writer.pendingBytes).to.equal(0);
    } finally {
      await close(p);
    }
  });

  it('calls held back for the high-water mark leave once the batch is written, though no drain follows a write the socket takes whole', async () => {
    const server = new RpcServer({ port: 0, handlers: { echo: (p: unknown) => p } });
    const { url } = await server.listen();
    const conn = new RpcConnection({ url, reconnect: false, highWaterMarkBytes: 16 * 1024, defaultTimeoutMs: 20_000 });
    try {
      await conn.connect();
      const body = { data: 'x'.repeat(4000) };
      // 64 calls of 4 KB in one tick: most are held back locally, then released batch by batch.
      const results = await Promise.all(Array.from({ length: 64 }, (_, i) => conn.call('echo', { ...body, i })));
      expect(results.map((r) => (r.result as { i: number }).i)).to.deep.equal(Array.from({ length: 64 }, (_, i) => i));
    } finally {
      await conn.close();
      await server.close();
    }
  });
  it('reuses its batch buffer only when the socket took the last batch whole; a buffer still held by a socket is never written over', () => {
    // A socket that takes every write at once, and one that keeps its writes pending (a peer not reading).
    const taken: Buffer[] = [];
    const fast = new Writable({ write(chunk: Buffer, _enc, cb) { taken.push(chunk); cb(); } });
    const held: Buffer[] = [];
    // Keeps every write pending (never completes it), as a socket whose peer does not read.
    const stuck = {
      destroyed: false, writable: true, writableLength: 0,
      write(chunk: Buffer): boolean { held.push(chunk); this.writableLength += chunk.length; return false; },
      cork(): void {}, uncork(): void {},
    };
    const a = new FrameWriter(fast as unknown as Duplex, false);
    const b = new FrameWriter(stuck as unknown as Duplex, false);
    a.write(message(100, 1));
    a.flush();
    a.write(message(100, 2));
    a.flush();
    expect(taken[1]!.buffer).to.equal(taken[0]!.buffer, 'a batch the socket took whole leaves its buffer for the next');
    b.write(message(100, 3));
    b.flush();
    const kept = Buffer.from(held[0]!);
    // Later batches, through either writer, must not land in the buffer the stuck socket still holds.
    for (let i = 0; i < 5; i++) {
      a.write(message(100, 10 + i));
      a.flush();
      b.write(message(100, 20 + i));
      b.flush();
    }
    expect(held[0]!.equals(kept)).to.equal(true);
    held.forEach((chunk, i) => expect(chunk.subarray(2).equals(message(100, i === 0 ? 3 : 19 + i))).to.equal(true));
    for (const chunk of [...taken, ...held]) expect(chunk.length).to.equal(102);
    const buffers = new Set(held.map((c) => c.buffer));
    expect(buffers.size).to.equal(held.length, 'every batch held by the stuck socket has its own buffer');
  });
});
