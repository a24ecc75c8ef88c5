import { expect } from 'chai';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { CallContext, PROTOCOL_HEADER, PROTOCOL_VERSION, RpcConnection, RpcError, RpcServer } from '../../lib/transport';
import { expectRejection, nextFrameFor, packr, rawClient, sleep, startPair, until } from './helpers';

describe('transport calls', () => {
  it('answers calls and passes meta, peer and epoch through', async () => {
    let seen: CallContext | undefined;
    const pair = await startPair({
      handlers: { echo: (p, ctx) => { seen = ctx; return p; }, add: async (p: { a: number; b: number }) => p.a + p.b },
    });
    try {
      const r = await pair.client.call('echo', { hello: 'world' }, { meta: { trace: 'abc' } });
      expect(r).to.deep.equal({ result: { hello: 'world' }, epoch: undefined });
      expect(seen!.meta).to.deep.equal({ trace: 'abc' });
      expect(seen!.method).to.equal('echo');
      expect(seen!.peer.address).to.equal('127.0.0.1');
      expect(seen!.deadline).to.be.greaterThan(Date.now());
      expect((await pair.client.call('add', { a: 2, b: 3 })).result).to.equal(5);
      const many = await Promise.all(Array.from({ length: 200 }, (_, i) => pair.client.call('echo', i)));
      expect(many.map((m) => m.result)).to.deep.equal(Array.from({ length: 200 }, (_, i) => i));
      expect(pair.client.outstanding).to.equal(0);
      expect(pair.server.inFlight).to.equal(0);
    } finally {
      await pair.cleanup();
    }
  });

  it('gives typed errors for unknown methods, throwing handlers and non-encodable results', async () => {
    const pair = await startPair({
      handlers: {
        boom: () => { throw new Error('kaput'); },
        reject: () => Promise.reject(new Error('async kaput')),
        typed: () => { throw new RpcError('FENCED', 'stale epoch', { data: { epoch: 3 } }); },
        symbol: () => ({ s: Symbol('x') }),
        circular: () => { const o: Record<string, unknown> = {}; o.self = o; return o; },
        ok: () => 'fine',
      },
    });
    try {
      const e1 = await expectRejection(pair.client.call('nope', null));
      expect(e1).to.be.instanceOf(RpcError);
      expect(e1).to.include({ code: 'METHOD_NOT_FOUND', notExecuted: true });
      expect(await expectRejection(pair.client.call('boom', null))).to.include({ code: 'INTERNAL', message: 'kaput', notExecuted: false });
      expect(await expectRejection(pair.client.call('reject', null))).to.include({ code: 'INTERNAL', message: 'async kaput' });
      const e4 = await expectRejection(pair.client.call('typed', null));
      expect(e4).to.include({ code: 'FENCED', message: 'stale epoch' });
      expect(e4.data).to.deep.equal({ epoch: 3 });
      expect(await expectRejection(pair.client.call('symbol', null))).to.include({ code: 'INTERNAL', notExecuted: false });
      expect(await expectRejection(pair.client.call('circular', null))).to.include({ code: 'INTERNAL', notExecuted: false });
      expect((await pair.client.call('ok', null)).result).to.equal('fine');
      expect(pair.faults.map((f) => f.code)).to.include.members(['HANDLER_ERROR', 'NOT_ENCODABLE']);
      // params that cannot be encoded fail locally and are never sent
      expect(await expectRejection(pair.client.call('ok', { s: Symbol('y') }))).to.include({ code: 'INVALID_ARGUMENT', notExecuted: true });
    } finally {
      await pair.cleanup();
    }
  });

  it('a handler that never settles: the caller gets DEADLINE_EXCEEDED and ctx.signal aborts', async () => {
    let serverSignal: AbortSignal | undefined;
    const pair = await startPair({ handlers: { hang: (_p, ctx) => { serverSignal = ctx.signal; return new Promise(() => undefined); } } });
    try {
      const t0 = Date.now();
      const err = await expectRejection(pair.client.call('hang', null, { timeoutMs: 200 }));
      expect(err).to.include({ code: 'DEADLINE_EXCEEDED', notExecuted: false });
      expect(Date.now() - t0).to.be.at.least(190);
      await until(() => serverSignal?.aborted === true, 2000, 'server signal aborted');
      expect((serverSignal!.reason as RpcError).code).to.be.oneOf(['DEADLINE_EXCEEDED', 'CANCELLED']);
      await until(() => pair.server.inFlight === 0, 2000, 'slot released');
      // an absolute deadline already in the past is refused without running the handler
      expect(await expectRejection(pair.client.call('hang', null, { deadline: Date.now() - 1 }))).to.include({ code: 'DEADLINE_EXCEEDED' });
    } finally {
      await pair.cleanup();
    }
  });

  it('the server enforces the deadline it was sent, even if the client never cancels', async () => {
    let serverSignal: AbortSignal | undefined;
    const pair = await startPair({ handlers: { hang: (_p, ctx) => { serverSignal = ctx.signal; return new Promise(() => undefined); } } });
    const ws = await rawClient(pair.url);
    try {
      const answer = nextFrameFor(ws, 1);
      ws.send(packr.pack([0, 1, 'hang', null, 150]));
      const frame = await answer;
      expect(frame.slice(0, 3)).to.deep.equal([2, 1, 'DEADLINE_EXCEEDED']);
      expect(serverSignal!.aborted).to.equal(true);
      expect((serverSignal!.reason as RpcError).code).to.equal('DEADLINE_EXCEEDED');
      expect(pair.server.inFlight).to.equal(0);
    } finally {
      ws.terminate();
      await pair.cleanup();
    }
  });

  it('AbortSignal cancels the call with CANCELLED and the server sees the cancel', async () => {
    let serverSignal: AbortSignal | undefined;
    const pair = await startPair({ handlers: { hang: (_p, ctx) => { serverSignal = ctx.signal; return new Promise(() => undefined); } } });
    try {
      const ac = new AbortController();
      const p = pair.client.call('hang', null, { signal: ac.signal, timeoutMs: 10_000 });
      await until(() => serverSignal !== undefined, 2000, 'handler started');
      ac.abort();
      expect(await expectRejection(p)).to.include({ code: 'CANCELLED', notExecuted: false });
      await until(() => serverSignal!.aborted, 2000, 'server saw cancel');
      expect((serverSignal!.reason as RpcError).code).to.equal('CANCELLED');
      await until(() => pair.server.inFlight === 0, 2000, 'slot released');
      // an already-aborted signal never sends
      expect(await expectRejection(pair.client.call('hang', null, { signal: AbortSignal.abort() }))).to.include({ code: 'CANCELLED', notExecuted: true });
    } finally {
      await pair.cleanup();
    }
  });

  it('a client that disconnects aborts its calls on the server (ctx.signal) and frees their slots', async () => {
    let serverSignal: AbortSignal | undefined;
    const pair = await startPair({ handlers: { hang: (_p, ctx) => { serverSignal = ctx.signal; return new Promise(() => undefined); } } });
    try {
      const p = expectRejection(pair.client.call('hang', null));
      await until(() => pair.server.inFlight === 1, 2000, 'call running');
      await pair.client.close();
      expect(await p).to.include({ code: 'UNAVAILABLE', notExecuted: false });
      await until(() => serverSignal?.aborted === true, 2000, 'server saw the disconnect');
      expect((serverSignal!.reason as RpcError).code).to.equal('UNAVAILABLE');
      expect(pair.server.inFlight).to.equal(0);
      await until(() => pair.server.connections === 0, 2000, 'connection gone');
    } finally {
      await pair.cleanup();
    }
  });

  it('OVERLOADED per connection and per server; the handler never runs', async () => {
    let runs = 0;
    const release: (() => void)[] = [];
    const handlers = { slow: () => { runs++; return new Promise<string>((r) => release.push(() => r('done'))); } };
    const pair = await startPair({ handlers, maxInFlightPerConnection: 2, maxInFlight: 3 });
    const other = new RpcConnection({ url: pair.url, reconnect: false });
    try {
      await other.connect();
      const a = pair.client.call('slow', 1);
      const b = pair.client.call('slow', 2);
      const c = await expectRejection(pair.client.call('slow', 3));
      expect(c).to.include({ code: 'OVERLOADED', retryable: true, notExecuted: true });
      expect(runs).to.equal(2);
      const d = other.call('slow', 4);
      await until(() => runs === 3, 2000, 'third call running');
      const e = await expectRejection(other.call('slow', 5));
      expect(e).to.include({ code: 'OVERLOADED', notExecuted: true });
      expect(e.message).to.match(/maxInFlight/);
      expect(runs).to.equal(3);
      expect(pair.server.inFlight).to.equal(3);
      release.forEach((r) => r());
      expect((await Promise.all([a, b, d])).map((x) => x.result)).to.deep.equal(['done', 'done', 'done']);
      expect(pair.faults.filter((f) => f.code === 'OVERLOADED')).to.have.length(2);
    } finally {
      await other.close();
      await pair.cleanup();
    }
  });

  it('PAYLOAD_TOO_LARGE fails only that call, in both directions', async () => {
    const pair = await startPair(
      { maxFrameBytes: 10_000, handlers: { echo: (p) => p, big: (n: number) => 'x'.repeat(n) } },
      { maxFrameBytes: 10_000 },
    );
    const raw = new RpcConnection({ url: pair.url, reconnect: false, maxFrameBytes: 100_000 });
    try {
      await raw.connect();
      // request too large, refused locally by the client: never sent
      expect(await expectRejection(pair.client.call('echo', 'y'.repeat(20_000)))).to.include({ code: 'PAYLOAD_TOO_LARGE', notExecuted: true });
      // request too large for the server (client allows it): answered for that call only
      const [tooBig, fine] = await Promise.allSettled([raw.call('echo', 'y'.repeat(20_000)), raw.call('echo', 'small')]);
      expect((tooBig as PromiseRejectedResult).reason).to.include({ code: 'PAYLOAD_TOO_LARGE', notExecuted: true });
      expect((fine as PromiseFulfilledResult<{ result: unknown }>).value.result).to.equal('small');
      // response too large for the server's limit
      expect(await expectRejection(pair.client.call('big', 20_000))).to.include({ code: 'PAYLOAD_TOO_LARGE', notExecuted: false });
      // response within the server's limit but over the client's
      const server2 = new RpcServer({ maxFrameBytes: 100_000, handlers: { big: (n: number) => 'x'.repeat(n) } });
      const { url } = await server2.listen();
      const small = new RpcConnection({ url, reconnect: false, maxFrameBytes: 10_000 });
      await small.connect();
      const [r1, r2] = await Promise.allSettled([small.call('big', 50_000), small.call('big', 10)]);
      expect((r1 as PromiseRejectedResult).reason).to.include({ code: 'PAYLOAD_TOO_LARGE', notExecuted: false });
      expect((r2 as PromiseFulfilledResult<{ result: unknown }>).value.result).to.equal('x'.repeat(10));
      expect(small.state).to.equal('up');
      await small.close();
      await server2.close();
      expect(pair.client.state).to.equal('up');
      expect((await pair.client.call('echo', 'still fine')).result).to.equal('still fine');
    } finally {
      await raw.close();
      await pair.cleanup();
    }
  });

  it('admit hook refuses with NOT_PRIMARY + leaderHint (handler never runs) or stamps the epoch', async () => {
    let primary = false;
    let runs = 0;
    const pair = await startPair({
      handlers: { work: (_p, ctx) => { runs++; return ctx.epoch; } },
      admit: () => (primary ? { epoch: 17 } : new RpcError('NOT_PRIMARY', 'not the primary', { leaderHint: 'ws://10.0.0.2:9000' })),
    });
    try {
      const e = await expectRejection(pair.client.call('work', null));
      expect(e).to.include({ code: 'NOT_PRIMARY', notExecuted: true, retryable: true, leaderHint: 'ws://10.0.0.2:9000' });
      expect(runs).to.equal(0);
      expect(pair.server.inFlight).to.equal(0);
      primary = true;
      expect(await pair.client.call('work', null)).to.deep.equal({ result: 17, epoch: 17 });
    } finally {
      await pair.cleanup();
    }
  });

  it('tells apart "never sent" from "sent, outcome unknown" when the connection is lost', async () => {
    // A server that accepts the upgrade and then never reads: the client's socket fills up,
    // so later calls wait in the client's local queue and are never written.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    wss.on('headers', (h: string[]) => h.push(`${PROTOCOL_HEADER}: ${PROTOCOL_VERSION}`));
    wss.on('connection', (ws) => ws.pause());
    await new Promise((r) => wss.once('listening', r));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const client = new RpcConnection({ url, reconnect: false, highWaterMarkBytes: 64 * 1024, maxFrameBytes: 8 * 1024 * 1024 });
    try {
      await client.connect();
      const blob = Buffer.alloc(1024 * 1024, 1);
      const calls = Array.from({ length: 40 }, () => client.call('put', blob, { timeoutMs: 20_000 }).catch((e: RpcError) => e));
      await sleep(200);
      await client.close();
      const errors = await Promise.all(calls);
      const codes = new Set(errors.map((e) => (e as RpcError).code));
      expect([...codes]).to.deep.equal(['UNAVAILABLE']);
      expect((errors[0] as RpcError).notExecuted).to.equal(false);
      expect((errors[0] as RpcError).message).to.match(/outcome unknown/);
      expect((errors[39] as RpcError).notExecuted).to.equal(true);
      expect((errors[39] as RpcError).message).to.match(/before the request was sent/);
      // and a call while down fails fast, never sent
      expect(await expectRejection(client.call('put', 1))).to.include({ code: 'UNAVAILABLE', notExecuted: true });
    } finally {
      await client.close();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  });

  it('backpressure: requests over the high-water mark wait locally, then all go out', async () => {
    const pair = await startPair({ handlers: { size: (b: Buffer) => b.length } }, { highWaterMarkBytes: 16 * 1024 });
    try {
      const blob = Buffer.alloc(100 * 1024, 2);
      const calls = Array.from({ length: 50 }, () => pair.client.call('size', blob));
      expect(pair.client.queued).to.be.greaterThan(0);
      expect((await Promise.all(calls)).every((r) => r.result === blob.length)).to.equal(true);
      expect(pair.client.queued).to.equal(0);
    } finally {
      await pair.cleanup();
    }
  });

  it('a server that dies mid-call leaves the call "sent, outcome unknown"', async () => {
    const pair = await startPair({ handlers: { hang: () => new Promise(() => undefined) } });
    const downs: unknown[] = [];
    pair.client.on('down', (d) => downs.push(d));
    try {
      const p = expectRejection(pair.client.call('hang', null));
      await until(() => pair.server.inFlight === 1, 2000, 'call running');
      await pair.server.close({ graceMs: 0 });
      expect(await p).to.include({ code: 'UNAVAILABLE', notExecuted: false });
      await until(() => downs.length === 1, 2000, 'down event');
      expect(pair.client.state).to.equal('down');
    } finally {
      await pair.cleanup();
    }
  });

  it('graceful close: stops accepting, lets in-flight calls finish, then closes', async () => {
    const pair = await startPair({ handlers: { slow: async (ms: number) => { await sleep(ms); return ms; }, fast: () => 'ok' } });
    try {
      const inFlight = pair.client.call('slow', 300);
      await until(() => pair.server.inFlight === 1, 2000, 'call running');
      const closing = pair.server.close({ graceMs: 5000 });
      // new calls during the grace period are refused as not executed; new connections are refused
      const refused = await expectRejection(pair.client.call('fast', null));
      expect(refused).to.include({ code: 'UNAVAILABLE', notExecuted: true, retryable: true });
      const late = new RpcConnection({ url: pair.url, reconnect: false, connectTimeoutMs: 2000 });
      expect(await expectRejection(late.connect())).to.include({ code: 'UNAVAILABLE' });
      await late.close();
      expect((await inFlight).result).to.equal(300);
      await closing;
      expect(pair.server.connections).to.equal(0);
      // a call that outlives the grace period is cut off
      const pair2 = await startPair({ handlers: { hang: () => new Promise(() => undefined) } });
      const p = expectRejection(pair2.client.call('hang', null));
      await until(() => pair2.server.inFlight === 1, 2000, 'call running');
      const t0 = Date.now();
      await pair2.server.close({ graceMs: 100 });
      expect(Date.now() - t0).to.be.lessThan(3000);
      expect(await p).to.include({ code: 'UNAVAILABLE', notExecuted: false });
      await pair2.cleanup();
    } finally {
      await pair.cleanup();
    }
  });
});
