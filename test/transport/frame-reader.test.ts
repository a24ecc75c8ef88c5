import { expect } from 'chai';
import crypto from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import { WebSocket, WebSocketServer } from 'ws';
import { encodeRequest, encodeResponse, PROTOCOL_HEADER, PROTOCOL_VERSION, RpcConnection, RpcServer, TransportFault } from '../../lib/transport';
import { FrameReader } from '../../lib/transport/frame-reader';
import { unpackr, until } from './helpers';

// The lean frame reader (lib/transport/frame-reader.ts) in front of ws's receiver: plain binary
// frames are taken out, everything else must reach ws byte for byte and in order, so that ws
// keeps deciding control frames, fragmentation, masking errors and close codes.

type Mask = 'zero' | 'random' | 'none';

interface FrameSpec {
  opcode: number;
  payload: Buffer;
  fin?: boolean;
  mask?: Mask;
  rsv?: number;
  /** Force the 64-bit length form. */
  long?: boolean;
}

/** One RFC 6455 frame, made by hand. */
function frame({ opcode, payload, fin = true, mask = 'zero', rsv = 0, long = false }: FrameSpec): Buffer {
  const n = payload.length;
  const lenBytes = long || n > 0xffff ? 8 : n >= 126 ? 2 : 0;
  const head = Buffer.alloc(2 + lenBytes + (mask === 'none' ? 0 : 4));
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  head[1] = (mask === 'none' ? 0 : 0x80) | (lenBytes === 8 ? 127 : lenBytes === 2 ? 126 : n);
  if (lenBytes === 2) head.writeUInt16BE(n, 2);
  if (lenBytes === 8) {
    head.writeUInt32BE(Math.floor(n / 0x100000000), 2);
    head.writeUInt32BE(n >>> 0, 6);
  }
  if (mask === 'none') return Buffer.concat([head, payload]);
  const key = mask === 'zero' ? Buffer.alloc(4) : crypto.randomBytes(4);
  key.copy(head, head.length - 4);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([head, body]);
}

const binary = (payload: Buffer, mask: Mask = 'zero'): Buffer => frame({ opcode: 2, payload, mask });

/** Writes `bytes` in pieces cut at `cuts` (positions), one socket write each. */
function writeInPieces(sock: net.Socket, bytes: Buffer, cuts: number[]): void {
  let from = 0;
  for (const at of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b).concat(bytes.length)) {
    if (at > from) sock.write(bytes.subarray(from, at));
    from = at;
  }
}

/** A frame the server sent (servers never mask). */
interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** A raw TCP client that does the ws upgrade by hand, then writes any bytes and parses what comes back. */
async function rawSocket(url: string): Promise<{ sock: net.Socket; frames: ServerFrame[]; ended: () => boolean }> {
  const { port, hostname } = new URL(url);
  const sock = net.connect(Number(port), hostname);
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.write(
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${PROTOCOL_HEADER}: ${PROTOCOL_VERSION}\r\n\r\n`,
  );
  const frames: ServerFrame[] = [];
  let buf = Buffer.alloc(0);
  let upgraded = false;
  let end = false;
  sock.on('end', () => (end = true));
  sock.on('close', () => (end = true));
  sock.on('error', () => (end = true));
  await new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const at = buf.indexOf('\r\n\r\n');
        if (at < 0) return;
        expect(buf.subarray(0, at).toString()).to.match(/^HTTP\/1.1 101/);
        buf = buf.subarray(at + 4);
        upgraded = true;
        resolve();
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1]! & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = buf.readUInt32BE(6);
          at = 10;
        }
        if (buf.length < at + len) return;
        frames.push({ opcode: buf[0]! & 0x0f, payload: buf.subarray(at, at + len) });
        buf = buf.subarray(at + len);
      }
    });
  });
  return { sock, frames, ended: () => end };
}

function answers(frames: ServerFrame[]): unknown[][] {
  return frames.filter((f) => f.opcode === 2).map((f) => unpackr.unpack(f.payload) as unknown[]);
}

function closeCode(frames: ServerFrame[]): number | undefined {
  const f = frames.find((x) => x.opcode === 8);
  return f === undefined ? undefined : f.payload.readUInt16BE(0);
}

describe('transport frame reader (unit: what goes where)', () => {
  /** A stand-in for ws's receiver: records the bytes handed to ws. */
  function fakeWs(isServer: boolean, maxPayload = 1 << 20): { ws: WebSocket; forwarded: Buffer[] } {
    const forwarded: Buffer[] = [];
    const receiver = {
      write: (chunk: Buffer): boolean => {
        forwarded.push(Buffer.from(chunk));
        return true;
      },
      _state: 0, _bufferedBytes: 0, _fragmented: 0, _errored: false, _maxPayload: maxPayload, _isServer: isServer,
      _extensions: {}, _allowSynchronousEvents: true,
    };
    return { ws: { _receiver: receiver } as unknown as WebSocket, forwarded };
  }

  const payloadArb = fc.uint8Array({ maxLength: 70_000 }).map((a) => Buffer.from(a));
  const frameArb = fc.oneof(
    { weight: 6, arbitrary: payloadArb.map((p) => ({ lean: true, bytes: binary(p), payload: p })) },
    { weight: 1, arbitrary: payloadArb.map((p) => ({ lean: true, bytes: frame({ opcode: 2, payload: p, long: true }), payload: p })) },
    { weight: 1, arbitrary: payloadArb.map((p) => ({ lean: false, bytes: binary(p, 'random'), payload: p })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 125 }).map((p) => ({ lean: false, bytes: frame({ opcode: 9, payload: Buffer.from(p) }), payload: Buffer.from(p) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 125 }).map((p) => ({ lean: false, bytes: frame({ opcode: 10, payload: Buffer.from(p) }), payload: Buffer.from(p) })) },
    { weight: 1, arbitrary: payloadArb.map((p) => ({ lean: false, bytes: frame({ opcode: 1, payload: p }), payload: p })) },
  );

  it('any mix of frames, cut anywhere: plain binary ones come out whole and in order, ws gets every other byte in order', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (frames, cutSeeds) => {
        const { ws, forwarded } = fakeWs(true);
        const got: Buffer[] = [];
        const reader = FrameReader.install(ws, (d) => got.push(Buffer.from(d)));
        expect(reader).to.not.equal(undefined);
        const all = Buffer.concat(frames.map((f) => f.bytes));
        const write = (ws as unknown as { _receiver: { write(b: Buffer): boolean } })._receiver.write;
        const cuts = [...new Set(cutSeeds.map((s) => (all.length === 0 ? 0 : s % all.length)))].sort((a, b) => a - b);
        let from = 0;
        for (const at of [...cuts, all.length]) {
          if (at > from) write(all.subarray(from, at));
          from = at;
        }
        expect(got.map((b) => b.toString('hex'))).to.deep.equal(frames.filter((f) => f.lean).map((f) => f.payload.toString('hex')));
        expect(Buffer.concat(forwarded).equals(Buffer.concat(frames.filter((f) => !f.lean).map((f) => f.bytes)))).to.equal(true);
        expect(reader!.heldBytes).to.equal(0);
      }),
      { numRuns: 300, seed: 15 },
    );
  });

  it('inside a fragmented message every frame goes to ws, binary ones included, until the final fragment', () => {
    const { ws, forwarded } = fakeWs(true);
    const got: Buffer[] = [];
    FrameReader.install(ws, (d) => got.push(d));
    const write = (ws as unknown as { _receiver: { write(b: Buffer): boolean } })._receiver.write;
    const toWs = [
      frame({ opcode: 2, payload: Buffer.from('a'), fin: false }),
      frame({ opcode: 9, payload: Buffer.from('p') }),
      frame({ opcode: 0, payload: Buffer.from('b'), fin: false }),
      binary(Buffer.from('inside')), // a protocol error ws must see
      frame({ opcode: 0, payload: Buffer.from('c') }),
    ];
    write(Buffer.concat([...toWs, binary(Buffer.from('after'))]));
    expect(Buffer.concat(forwarded).equals(Buffer.concat(toWs))).to.equal(true);
    expect(got.map(String)).to.deep.equal(['after']);
  });

  it('masking for the wrong end, RSV bits, over maxPayload or an impossible length go to ws; after a close frame, everything does', () => {
    const { ws, forwarded } = fakeWs(false, 100);
    const got: Buffer[] = [];
    FrameReader.install(ws, (d) => got.push(d));
    const write = (ws as unknown as { _receiver: { write(b: Buffer): boolean } })._receiver.write;
    const toWs = [
      binary(Buffer.from('masked to a client')),
      frame({ opcode: 2, payload: Buffer.from('rsv1'), mask: 'none', rsv: 4 }),
      frame({ opcode: 2, payload: Buffer.alloc(101), mask: 'none' }),
    ];
    write(Buffer.concat([...toWs, frame({ opcode: 2, payload: Buffer.from('ok'), mask: 'none' })]));
    expect(got.map(String)).to.deep.equal(['ok']);
    const close = frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), mask: 'none' });
    const after = frame({ opcode: 2, payload: Buffer.from('late'), mask: 'none' });
    write(Buffer.concat([close, after]));
    expect(got.map(String)).to.deep.equal(['ok']);
    expect(Buffer.concat(forwarded).equals(Buffer.concat([...toWs, close, after]))).to.equal(true);

    const huge = fakeWs(false);
    FrameReader.install(huge.ws, (d) => got.push(d));
    const hugeHead = Buffer.from([0x82, 127, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3]);
    (huge.ws as unknown as { _receiver: { write(b: Buffer): boolean } })._receiver.write(hugeHead);
    expect(Buffer.concat(huge.forwarded).equals(hugeHead)).to.equal(true);
  });

  it('is not installed in front of a receiver it does not know or that is mid-frame', () => {
    expect(FrameReader.install({} as WebSocket, () => undefined)).to.equal(undefined);
    const { ws } = fakeWs(true);
    (ws as unknown as { _receiver: { _state: number } })._receiver._state = 4;
    expect(FrameReader.install(ws, () => undefined)).to.equal(undefined);
  });
});

describe('transport frame reader (real server, hand-made frames)', () => {
  let server: RpcServer;
  let url: string;
  const faults: TransportFault[] = [];

  beforeEach(async () => {
    faults.length = 0;
    server = new RpcServer({ handlers: { echo: (p) => p }, hardMaxFrameBytes: 200_000, maxFrameBytes: 100_000, onFault: (f) => faults.push(f) });
    url = (await server.listen()).url;
  });

  afterEach(async () => {
    await server.close({ graceMs: 0 });
  });

  const request = (id: number, params: unknown, mask: Mask = 'zero'): Buffer => binary(encodeRequest(id, 'echo', params, 5000), mask);

  it('calls cut at every byte, in 16- and 64-bit length forms, zero and random masks: all answered in order', async () => {
    const { sock, frames } = await rawSocket(url);
    const big = 'x'.repeat(70_000);
    const bytes = Buffer.concat([
      request(1, 'a'), request(2, big), frame({ opcode: 2, payload: encodeRequest(3, 'echo', 'c', 5000), long: true }),
      request(4, 'd', 'random'), request(5, 'y'.repeat(300)),
    ]);
    const firstCuts = Array.from({ length: 200 }, (_, i) => i);
    writeInPieces(sock, bytes, [...firstCuts, 70_000, 70_010, bytes.length - 1]);
    await until(() => answers(frames).length === 5, 5000, 'five answers');
    expect(answers(frames).map((f) => f[1])).to.deep.equal([1, 2, 3, 4, 5]);
    expect(answers(frames)[1]![2]).to.equal(big);
    sock.destroy();
  });

  it('a fragmented request with a ping between its fragments: ws answers the ping, the call is served, plain frames around it too', async () => {
    const { sock, frames } = await rawSocket(url);
    const body = encodeRequest(2, 'echo', 'fragmented', 5000);
    writeInPieces(sock, Buffer.concat([
      request(1, 'before'),
      frame({ opcode: 2, payload: body.subarray(0, 5), fin: false }),
      frame({ opcode: 9, payload: Buffer.from('hi') }),
      frame({ opcode: 0, payload: body.subarray(5, 9), fin: false }),
      frame({ opcode: 0, payload: body.subarray(9) }),
      request(3, 'after'),
    ]), [3, 9, 17, 30, 31, 40]);
    await until(() => answers(frames).length === 3, 5000, 'three answers');
    expect(answers(frames).map((f) => f[2])).to.deep.equal(['before', 'fragmented', 'after']);
    const pong = frames.find((f) => f.opcode === 10);
    expect(pong?.payload.toString()).to.equal('hi');
    sock.destroy();
  });

  it('a close frame is answered with a close frame; what follows it is not run', async () => {
    const { sock, frames, ended } = await rawSocket(url);
    sock.write(Buffer.concat([request(1, 'a'), frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }), request(2, 'late')]));
    await until(() => closeCode(frames) !== undefined && ended(), 5000, 'the close');
    expect(closeCode(frames)).to.equal(1000);
    expect(answers(frames).map((f) => f[1])).to.deep.equal([1]);
    await until(() => server.connections === 0, 5000, 'the session to go');
  });

  const protocolErrors: [string, () => Buffer, number, string?][] = [
    ['an unmasked frame from a client', () => binary(encodeRequest(9, 'echo', 1, 5000), 'none'), 1002],
    ['an RSV bit', () => frame({ opcode: 2, payload: encodeRequest(9, 'echo', 1, 5000), rsv: 4 }), 1002],
    ['a continuation with no message open', () => frame({ opcode: 0, payload: Buffer.from('x') }), 1002],
    ['a new message inside a fragmented one', () => Buffer.concat([frame({ opcode: 2, payload: Buffer.from('x'), fin: false }), binary(Buffer.from('y'))]), 1002],
    ['a fragmented ping', () => frame({ opcode: 9, payload: Buffer.from('x'), fin: false }), 1002],
    ['a frame over hardMaxFrameBytes', () => binary(Buffer.alloc(200_001)), 1009, 'FRAME_OVER_HARD_LIMIT'],
    ['a 64-bit length over 2^53', () => Buffer.from([0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]), 1009],
  ];
  for (const [what, bytes, code, fault] of protocolErrors) {
    it(`${what}: ws closes with ${code}, calls before it are answered, the server stays up`, async () => {
      const { sock, frames, ended } = await rawSocket(url);
      writeInPieces(sock, Buffer.concat([request(1, 'a'), bytes()]), [5, 40]);
      await until(() => closeCode(frames) !== undefined || ended(), 5000, 'the close');
      await until(() => ended(), 5000, 'the socket to end');
      expect(closeCode(frames)).to.equal(code);
      expect(answers(frames).map((f) => f[1])).to.deep.equal([1]);
      const conn = new RpcConnection({ url, reconnect: false });
      await conn.connect();
      expect((await conn.call('echo', 'still up')).result).to.equal('still up');
      await conn.close();
      if (fault !== undefined) expect(faults.map((f) => f.code)).to.include(fault);
    });
  }

  it('a text frame is reported and ignored; the connection goes on', async () => {
    const { sock, frames } = await rawSocket(url);
    sock.write(Buffer.concat([frame({ opcode: 1, payload: Buffer.from('hello') }), request(1, 'a')]));
    await until(() => answers(frames).length === 1, 5000, 'the answer');
    expect(faults.map((f) => f.code)).to.include('TEXT_FRAME');
    sock.destroy();
  });
});

describe('transport frame reader (client side, hand-made server frames)', () => {
  let wss: WebSocketServer;
  let url: string;
  /** What the fake server writes to the client socket when it gets a request: raw bytes. */
  let reply: (id: number, sock: net.Socket) => void;

  beforeEach(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    wss.on('headers', (headers: string[]) => headers.push(`${PROTOCOL_HEADER}: ${PROTOCOL_VERSION}`));
    wss.on('connection', (ws: WebSocket, req) => {
      ws.on('message', (data: Buffer) => {
        const [, id] = unpackr.unpack(data) as [number, number];
        reply(id, req.socket as net.Socket);
      });
    });
    await new Promise((r) => wss.once('listening', r));
    url = `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
  });

  it('a response in fragments with a ping between them, cut across writes, is delivered; the ping is answered', async () => {
    const pongs: Buffer[] = [];
    wss.once('connection', (ws: WebSocket) => ws.on('pong', (d: Buffer) => pongs.push(d)));
    reply = (id, sock) => {
      const body = encodeResponse(id, { v: 'x'.repeat(1000) }, undefined);
      const bytes = Buffer.concat([
        frame({ opcode: 2, payload: body.subarray(0, 10), fin: false, mask: 'none' }),
        frame({ opcode: 9, payload: Buffer.from('p'), mask: 'none' }),
        frame({ opcode: 0, payload: body.subarray(10), mask: 'none' }),
      ]);
      writeInPieces(sock, bytes, [1, 7, 13, 500]);
    };
    const conn = new RpcConnection({ url, reconnect: false });
    await conn.connect();
    expect((await conn.call('echo', 1)).result).to.deep.equal({ v: 'x'.repeat(1000) });
    await until(() => pongs.length === 1, 5000, 'the pong');
    // And plain frames cut at every byte.
    reply = (id, sock) => writeInPieces(sock, frame({ opcode: 2, payload: encodeResponse(id, 'plain', undefined), mask: 'none' }), [1, 2, 3, 4, 5, 6]);
    expect((await conn.call('echo', 1)).result).to.equal('plain');
    await conn.close();
  });

  it('a masked frame from a server: ws closes the connection with 1002 and the call fails', async () => {
    reply = (id, sock) => sock.write(binary(encodeResponse(id, 'masked', undefined)));
    const conn = new RpcConnection({ url, reconnect: false });
    await conn.connect();
    let closed: number | undefined;
    wss.clients.forEach((c) => c.once('close', (code: number) => (closed = code)));
    const err = await conn.call('echo', 1).then(() => undefined, (e: Error & { code?: string }) => e);
    expect(err?.code).to.equal('UNAVAILABLE');
    await until(() => closed !== undefined, 5000, 'the close at the server');
    expect(closed).to.equal(1002);
    await conn.close();
  });
});

