import { expect } from 'chai';
import type { WebSocket } from 'ws';
import { AdmitCall, AdmitHook, RpcError } from '../../lib/transport';
import { expectRejection, nextFrameFor, packr, rawClient, sleep, startPair, until } from './helpers';

/** A hold the test settles by hand, and an admit hook that holds every first ask with it. */
function manualHold(after: (call: AdmitCall) => ReturnType<AdmitHook>): {
  admit: AdmitHook;
  asks: AdmitCall[];
  settle: () => void;
} {
  let settle!: () => void;
  const holdUntil = new Promise<void>((resolve) => (settle = resolve));
  const asks: AdmitCall[] = [];
  const admit: AdmitHook = (call) => {
    asks.push(call);
    return call.held ? after(call) : { holdUntil };
  };
  return { admit, asks, settle };
}

function request(ws: WebSocket, id: number, method: string, timeoutMs = 5000): Promise<unknown[]> {
  const answer = nextFrameFor(ws, id, 10_000);
  ws.send(packr.pack([0, id, method, null, timeoutMs]));
  return answer;
}

/**
 * A server whose admit hook holds every call (admitting it on the second ask), and a raw client:
 * `end` ends a held call somehow; afterwards, settling the hold must neither ask again nor run it.
 */
async function endedWhileHeld(end: (ctx: { ws: WebSocket; pair: Awaited<ReturnType<typeof startPair>>; asks: AdmitCall[] }) => Promise<void>): Promise<void> {
  let runs = 0;
  const h = manualHold(() => ({ epoch: 1 }));
  const pair = await startPair({ handlers: { work: () => ++runs }, admit: h.admit });
  const ws = await rawClient(pair.url);
  try {
    await end({ ws, pair, asks: h.asks });
    await until(() => pair.server.inFlight === 0, 2000, 'slot given back');
    h.settle();
    await sleep(30);
    expect(h.asks.length, 'not asked again').to.equal(1);
    expect(runs).to.equal(0);
  } finally {
    ws.terminate();
    await pair.cleanup();
  }
}

describe('transport: admit may hold a call (AdmitHold)', () => {
  it('a held call is asked again once the hold settles, then runs (admit stays the last step)', async () => {
    let runs = 0;
    const h = manualHold(() => ({ epoch: 9 }));
    const pair = await startPair({ handlers: { work: (_p, ctx) => { runs++; return ctx.epoch; } }, admit: h.admit });
    try {
      const call = pair.client.call('work', null);
      await until(() => h.asks.length === 1, 2000, 'first ask');
      await sleep(30);
      expect(runs, 'not run while held').to.equal(0);
      expect(pair.server.inFlight, 'a held call keeps its slot').to.equal(1);
      h.settle();
      expect(await call).to.deep.equal({ result: 9, epoch: 9 });
      expect(h.asks.map((a) => a.held)).to.deep.equal([false, true]);
      expect(runs).to.equal(1);
      expect(pair.server.inFlight).to.equal(0);
    } finally {
      await pair.cleanup();
    }
  });

  it('a held call refused on the second ask gets that refusal (not executed)', async () => {
    let runs = 0;
    const h = manualHold(() => new RpcError('NOT_PRIMARY', 'still not me', { leaderHint: 'ws://10.0.0.3:1' }));
    const pair = await startPair({ handlers: { work: () => ++runs }, admit: h.admit });
    try {
      const call = expectRejection(pair.client.call('work', null));
      await until(() => h.asks.length === 1, 2000, 'first ask');
      h.settle();
      expect(await call).to.include({ code: 'NOT_PRIMARY', notExecuted: true, leaderHint: 'ws://10.0.0.3:1' });
      expect(runs).to.equal(0);
      expect(pair.server.inFlight).to.equal(0);
    } finally {
      await pair.cleanup();
    }
  });

  it('a second hold refuses the call (UNAVAILABLE, not executed): nothing spins', async () => {
    let runs = 0;
    let asks = 0;
    const pair = await startPair({
      handlers: { work: () => ++runs },
      admit: () => {
        asks++;
        return { holdUntil: Promise.resolve() };
      },
    });
    try {
      const e = await expectRejection(pair.client.call('work', null));
      expect(e).to.include({ code: 'UNAVAILABLE', notExecuted: true, retryable: true });
      expect(asks).to.equal(2);
      expect(runs).to.equal(0);
      expect(pair.server.inFlight).to.equal(0);
      expect(pair.faults.map((f) => f.code)).to.include('ADMIT_ERROR');
    } finally {
      await pair.cleanup();
    }
  });

  it('a cancel ends a held call: its slot is free at once and it never runs', () => endedWhileHeld(async ({ pair, asks }) => {
    const ac = new AbortController();
    const call = expectRejection(pair.client.call('work', null, { signal: ac.signal }));
    await until(() => asks.length === 1, 2000, 'first ask');
    ac.abort();
    expect(await call).to.include({ code: 'CANCELLED' });
  }));

  it('a held call whose connection closes never runs and gives its slot back', () => endedWhileHeld(async ({ ws, asks }) => {
    ws.send(packr.pack([0, 1, 'work', null, 5000]));
    await until(() => asks.length === 1, 2000, 'first ask');
    ws.terminate();
  }));

  it('a held call past its deadline gets DEADLINE_EXCEEDED, not executed', () => endedWhileHeld(async ({ ws }) => {
    const f = await request(ws, 7, 'work', 80);
    expect(f.slice(0, 3)).to.deep.equal([2, 7, 'DEADLINE_EXCEEDED']);
    expect(f[5], 'notExecuted').to.equal(true);
  }));

  it('held calls count against maxInFlight and maxInFlightPerConnection: memory stays bounded', async () => {
    let runs = 0;
    const h = manualHold(() => ({ epoch: 1 }));
    const pair = await startPair({ maxInFlight: 20, maxInFlightPerConnection: 15, handlers: { work: () => ++runs }, admit: h.admit });
    const a = await rawClient(pair.url);
    const b = await rawClient(pair.url);
    a.setMaxListeners(100);
    b.setMaxListeners(100);
    try {
      const answers: Promise<unknown[]>[] = [];
      for (let id = 1; id <= 16; id++) answers.push(request(a, id, 'work'));
      const overPerConnection = await answers[15]!;
      expect(overPerConnection.slice(0, 3)).to.deep.equal([2, 16, 'OVERLOADED']);
      for (let id = 1; id <= 6; id++) answers.push(request(b, id, 'work'));
      const overServer = await answers[21]!;
      expect(overServer.slice(0, 3)).to.deep.equal([2, 6, 'OVERLOADED']);
      expect(pair.server.inFlight).to.equal(20);
      h.settle();
      const done = await Promise.all([...answers.slice(0, 15), ...answers.slice(16, 21)]);
      expect(done.every((f) => f[0] === 1)).to.equal(true);
      expect(runs).to.equal(20);
      expect(pair.server.inFlight, 'every slot given back').to.equal(0);
    } finally {
      a.terminate();
      b.terminate();
      await pair.cleanup();
    }
  });

  it("the server's close answers held calls at once (UNAVAILABLE, retryable, not executed)", () => endedWhileHeld(async ({ ws, pair, asks }) => {
    const answer = request(ws, 3, 'work');
    await until(() => asks.length === 1, 2000, 'first ask');
    // A long grace: the held call must not wait it out.
    const closed = pair.server.close({ graceMs: 30_000 });
    const f = await answer;
    expect(f.slice(0, 3)).to.deep.equal([2, 3, 'UNAVAILABLE']);
    expect(f[4], 'retryable').to.equal(true);
    expect(f[5], 'notExecuted').to.equal(true);
    await closed;
  }));
});
