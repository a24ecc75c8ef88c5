import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { InvalidOptionError } from '../../lib/base/errors';
import { RpcConnection, RpcError, RpcServer } from '../../lib/transport';
import { expectRejection, nextFrameFor, packr, rawClient, startChild, startPair, until } from './helpers';

/** Rejects if `p` has not settled within `ms` (a hang is the defect here, not slowness). */
function settlesWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_r, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms))),
  ]);
}

describe('transport deadlines', () => {
  it('invalid timeouts on the wire get INVALID_ARGUMENT and never run the handler', async () => {
    let runs = 0;
    const pair = await startPair({ handlers: { work: () => { runs++; return 'ran'; } } });
    const ws = await rawClient(pair.url);
    try {
      const bad: unknown[] = [Number.NaN, -1, -1e300, Infinity, -Infinity, 'soon', { at: 1 }, true, [5]];
      for (let i = 0; i < bad.length; i++) {
        const answer = nextFrameFor(ws, 100 + i);
        ws.send(packr.pack([0, 100 + i, 'work', null, bad[i]]));
        const f = await answer;
        expect(f.slice(0, 3), String(bad[i])).to.deep.equal([2, 100 + i, 'INVALID_ARGUMENT']);
        expect(f[5], 'notExecuted').to.equal(true);
      }
      expect(runs).to.equal(0);
      // nil means the server's default; 0 means nothing is left
      const nil = nextFrameFor(ws, 200);
      ws.send(packr.pack([0, 200, 'work', null, null]));
      expect(await nil).to.deep.equal([1, 200, 'ran']);
      const zero = nextFrameFor(ws, 201);
      ws.send(packr.pack([0, 201, 'work', null, 0]));
      expect((await zero).slice(0, 3)).to.deep.equal([2, 201, 'DEADLINE_EXCEEDED']);
      expect(runs).to.equal(1);
    } finally {
      ws.terminate();
      await pair.cleanup();
    }
  });

  it('maxDeadlineMs caps every call: huge timeouts cannot hold slots for ever', async () => {
    const signals: AbortSignal[] = [];
    const pair = await startPair({
      maxDeadlineMs: 300,
      maxInFlight: 50,
      handlers: { hang: (_p, ctx) => { signals.push(ctx.signal); return new Promise(() => undefined); }, ok: () => 'ok' },
    });
    const ws = await rawClient(pair.url);
    ws.setMaxListeners(100);
    try {
      const answers = [];
      for (let id = 1; id <= 50; id++) {
        answers.push(nextFrameFor(ws, id, 10_000));
        ws.send(packr.pack([0, id, 'hang', null, id % 2 ? 1e300 : 2 ** 31 - 1]));
      }
      await until(() => pair.server.inFlight === 50, 2000, 'slots full');
      expect(await expectRejection(pair.client.call('ok', null))).to.include({ code: 'OVERLOADED' });
      for (const f of await settlesWithin(Promise.all(answers), 8000, 'capped calls')) expect(f.slice(0, 3)).to.deep.include('DEADLINE_EXCEEDED');
      expect(pair.server.inFlight).to.equal(0);
      expect(signals.every((s) => s.aborted)).to.equal(true);
      expect((await pair.client.call('ok', null)).result).to.equal('ok');
      // the handler sees the capped deadline
      let remaining = Infinity;
      const p2 = await startPair({ maxDeadlineMs: 1000, handlers: { t: (_p, ctx) => { remaining = ctx.remainingMs(); return 1; } } });
      await p2.client.call('t', null, { timeoutMs: 1e9 });
      expect(remaining).to.be.at.most(1000);
      await p2.cleanup();
    } finally {
      ws.terminate();
      await pair.cleanup();
    }
  });

  it('validates maxDeadlineMs and defaultDeadlineMs at construction', () => {
    expect(() => new RpcServer({ maxDeadlineMs: 0 })).to.throw(InvalidOptionError, /maxDeadlineMs/);
    expect(() => new RpcServer({ maxDeadlineMs: Infinity })).to.throw(InvalidOptionError, /maxDeadlineMs/);
    expect(() => new RpcServer({ maxDeadlineMs: 1000, defaultDeadlineMs: 2000 })).to.throw(InvalidOptionError, /defaultDeadlineMs/);
    expect(new RpcServer({ maxDeadlineMs: 1000 }).limits.defaultDeadlineMs).to.equal(1000);
    expect(new RpcServer({}).limits.maxDeadlineMs).to.equal(300_000);
  });

  describe('a client whose wall clock is off or steps (server in its own process, real clock)', () => {
    let child: ChildProcess | undefined;
    const realNow = Date.now;
    afterEach(() => {
      Date.now = realNow;
      if (child && child.exitCode === null) child.kill('SIGKILL');
    });

    for (const skew of [-5000, 5000]) {
      it(`skewed ${skew > 0 ? '+' : ''}${skew / 1000} s: no call is lost`, async () => {
        const started = await startChild();
        child = started.child;
        Date.now = () => realNow() + skew;
        const conn = new RpcConnection({ url: started.url, reconnect: false });
        try {
          await conn.connect();
          for (let i = 0; i < 20; i++) expect((await conn.call('echo', i, { timeoutMs: 2000 })).result).to.equal(i);
          expect((await conn.call('slow', 200, { timeoutMs: 2000 })).result).to.equal(200);
          // an absolute deadline given on the skewed clock still means "2 s from now"
          expect((await conn.call('echo', 'abs', { deadline: Date.now() + 2000 })).result).to.equal('abs');
        } finally {
          await conn.close();
        }
      });
    }

    for (const step of [60_000, -60_000]) {
      it(`stepping ${step > 0 ? '+' : ''}${step / 1000} s mid-call: the call completes, timeouts still fire on time`, async () => {
        const started = await startChild();
        child = started.child;
        const conn = new RpcConnection({ url: started.url, reconnect: false });
        try {
          await conn.connect();
          const inFlight = conn.call('slow', 400, { timeoutMs: 3000 });
          setTimeout(() => (Date.now = () => realNow() + step), 100);
          expect((await settlesWithin(inFlight, 5000, 'call across the step')).result).to.equal(400);
          expect((await conn.call('slow', 100, { timeoutMs: 3000 })).result).to.equal(100);
          const hung = await settlesWithin(expectRejection(conn.call('hang', null, { timeoutMs: 300 })), 5000, 'a 300 ms timeout');
          expect(hung).to.be.instanceOf(RpcError);
          expect(hung).to.include({ code: 'DEADLINE_EXCEEDED' });
        } finally {
          await conn.close();
        }
      });
    }
  });
});
