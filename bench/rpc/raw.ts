// The raw baselines: ws + msgpackr and TCP + length-prefixed msgpackr, each `[id, payload]` with
// call-id correlation, in two flavours: writes corked per tick (every frame written in one tick
// leaves in one writev: what a careful hand-written transport does, the ceiling to compare
// with) and uncorked (one write per frame, kept as extra rows).
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Packr, Unpackr } from 'msgpackr';
import { WebSocket, WebSocketServer } from 'ws';
import type { BenchMsg } from './payloads';

export interface BenchClient {
  call(msg: BenchMsg): Promise<unknown>;
  close(): Promise<void>;
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

/** Corks `sock` at the first write of a tick and uncorks it once the tick's work is done. */
function tickCorker(sock: Duplex): () => void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    sock.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    sock.cork();
    process.nextTick(uncork);
  };
}

const noCork = (): void => undefined;

/** The raw baselines' call ids: send `[id, msg]`, resolve the call when `[id, body]` comes back. */
function correlator(send: (frame: [number, unknown]) => void): { call: (msg: unknown) => Promise<unknown>; reply: (frame: Uint8Array) => void } {
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  return {
    call: (msg) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        send([id, msg]);
      }),
    reply: (frame) => {
      const [id, body] = unpackr.unpack(frame) as [number, unknown];
      const r = pending.get(id);
      pending.delete(id);
      r?.(body);
    },
  };
}

// ---------------------------------------------------------------- ws + msgpackr

export async function wsServer(corked: boolean): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, skipUTF8Validation: true });
  wss.on('connection', (ws, req) => {
    const cork = corked ? tickCorker(req.socket) : noCork;
    ws.on('message', (data: Buffer) => {
      const [id, body] = unpackr.unpack(data) as [number, unknown];
      cork();
      ws.send(packr.pack([id, body]));
    });
  });
  await new Promise((r) => wss.once('listening', r));
  return (wss.address() as net.AddressInfo).port;
}

/**
 * The masking key of the baseline's client frames: all zeros, as zk-ha's client sends (RFC 6455
 * requires a key, not a random one), so that ws skips masking and unmasking on both ends. With
 * ws's default random keys and no `bufferutil`, the baseline masked every request in JavaScript
 * on both sides (25 + 38-49 µs per structured call in the profiles): a cost zk-ha does not pay.
 */
function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

export async function wsClient(port: number, corked: boolean): Promise<BenchClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, skipUTF8Validation: true, generateMask: zeroMask });
  let socket: Duplex | undefined;
  ws.once('upgrade', (res) => (socket = res.socket));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const cork = corked ? tickCorker(socket!) : noCork;
  const calls = correlator((frame) => {
    cork();
    ws.send(packr.pack(frame));
  });
  ws.on('message', (data: Buffer) => calls.reply(data));
  return { call: calls.call, close: async () => ws.close() };
}

// ---------------------------------------------------------------- TCP + length-prefixed msgpackr

/**
 * Splits a byte stream into 4-byte-length-prefixed frames. Frames inside one read are views of
 * it; only a frame split across reads is copied (just its own bytes), as a careful hand-written
 * transport would do, so that the ceiling is not lowered by the baseline's own copies.
 */
function frameReader(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  return (chunk) => {
    let pos = 0;
    if (pending !== undefined) {
      if (pending.length < 4) {
        pos = Math.min(4 - pending.length, chunk.length);
        pending = Buffer.concat([pending, chunk.subarray(0, pos)]);
        if (pending.length < 4) return;
      }
      const missing = 4 + pending.readUInt32BE(0) - pending.length;
      if (chunk.length - pos < missing) {
        pending = Buffer.concat([pending, chunk.subarray(pos)]);
        return;
      }
      const frame = Buffer.concat([pending, chunk.subarray(pos, pos + missing)]);
      pos += missing;
      pending = undefined;
      onFrame(frame.subarray(4));
    }
    while (chunk.length - pos >= 4) {
      const len = chunk.readUInt32BE(pos);
      if (chunk.length - pos - 4 < len) break;
      onFrame(chunk.subarray(pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
    if (pos < chunk.length) pending = chunk.subarray(pos);
  };
}

function lengthPrefixed(value: unknown): Buffer {
  const body = packr.pack(value);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

export async function tcpServer(corked: boolean): Promise<number> {
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    const cork = corked ? tickCorker(sock) : noCork;
    sock.on('data', frameReader((frame) => {
      const [id, body] = unpackr.unpack(frame) as [number, unknown];
      cork();
      sock.write(lengthPrefixed([id, body]));
    }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

export async function tcpClient(port: number, corked: boolean): Promise<BenchClient> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const cork = corked ? tickCorker(sock) : noCork;
  const calls = correlator((frame) => {
    cork();
    sock.write(lengthPrefixed(frame));
  });
  sock.on('data', frameReader((frame) => calls.reply(frame)));
  return {
    call: calls.call,
    close: async () => {
      sock.end();
    },
  };
}
