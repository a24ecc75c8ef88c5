import { expect } from 'chai';
import { monotonicMs } from '../../lib/base/clock';
import { callBalanced } from '../../lib/ha/balanced-policy';
import { callHedged } from '../../lib/ha/hedged-policy';
import { HedgePlan, RetryBudget } from '../../lib/routing';
import { RpcError } from '../../lib/transport';
import { context, FakePool, lostAfterSend, rejected } from './fake-pool';

const within = (ms: number): number => monotonicMs() + ms;
const overloaded = (): RpcError => new RpcError('OVERLOADED', 'busy');

describe('ha/balanced-policy (fake pool)', () => {
  it('spreads calls by the pool pick and reports the attempts', async () => {
    const pool = new FakePool();
    pool.add('a', 1);
    pool.add('b', 2);
    const ctx = context(pool);
    const members = [];
    for (let i = 0; i < 4; i++) members.push((await callBalanced(ctx, 'm', {}, {}, within(1000))).member);
    expect(members).to.deep.equal(['a', 'b', 'a', 'b']);
  });

  it('a call refused before it ran goes to another member (even when not idempotent)', async () => {
    const pool = new FakePool();
    const a = pool.add('a', 1);
    pool.add('b', 2);
    a.script.push({ error: overloaded() });
    const r = await callBalanced(context(pool), 'm', {}, {}, within(1000));
    expect(r).to.include({ member: 'b', attempts: 2 });
  });

  it('an outcome-unknown failure is retried elsewhere only when idempotent', async () => {
    const pool = new FakePool();
    const a = pool.add('a', 1);
    pool.add('b', 2);
    a.script.push({ error: lostAfterSend() });
    const e = await rejected(callBalanced(context(pool), 'm', {}, {}, within(1000)));
    expect(e).to.include({ code: 'UNAVAILABLE', notExecuted: false });
    a.script.push({ error: lostAfterSend() });
    expect(await callBalanced(context(pool), 'm', {}, { idempotent: true }, within(1000))).to.include({ member: 'b' });
  });

  it('every member tried: waits for a change, then tries again', async () => {
    const pool = new FakePool();
    const a = pool.add('a', 1);
    a.script.push({ error: overloaded() });
    expect(await callBalanced(context(pool), 'm', {}, {}, within(1000))).to.include({ member: 'a' });
    expect(a.attempts).to.equal(2);
  });

  it('every member refusing "not executed": one free round, then the retry budget pays (was 68–85 attempts per call)', async () => {
    const pool = new FakePool();
    const members = ['a', 'b', 'c'].map((n, i) => pool.add(n, i + 1));
    for (const m of members) for (let i = 0; i < 1000; i++) m.script.push({ error: new RpcError('NOT_PRIMARY', 'no') });
    const ctx = { ...context(pool), budget: new RetryBudget({ ratio: 0, minRetriesPerSecond: 0 }) };
    const e = await rejected(callBalanced(ctx, 'm', {}, {}, within(1000)));
    expect(e).to.include({ code: 'NOT_PRIMARY' });
    expect(members.reduce((n, m) => n + m.attempts, 0)).to.be.at.most(4);
  });

  it('the client closed while a call waits: UNAVAILABLE "client closed", not DEADLINE_EXCEEDED long before the deadline', async () => {
    const pool = new FakePool();
    let closed = false;
    const ctx = { ...context(pool), closed: () => closed };
    const call = rejected(callBalanced(ctx, 'm', {}, { idempotent: true }, within(5000)));
    setTimeout(() => { closed = true; }, 20);
    const e = await call;
    expect(e.code).to.equal('UNAVAILABLE');
    expect(e.message).to.match(/client closed/);
  });

  it('no member at all until the deadline: DEADLINE_EXCEEDED, not executed', async () => {
    const pool = new FakePool();
    const e = await rejected(callBalanced(context(pool), 'm', {}, {}, within(40)));
    expect(e).to.include({ code: 'DEADLINE_EXCEEDED', notExecuted: true });
  });

  it('truthful: a "not executed" error after an attempt that may have run is reported executed', async () => {
    const pool = new FakePool();
    const a = pool.add('a', 1);
    const b = pool.add('b', 2);
    a.script.push({ error: lostAfterSend() });
    b.script.push({ error: new RpcError('UNAUTHENTICATED', 'token expired') });
    const e = await rejected(callBalanced(context(pool), 'm', {}, { idempotent: true }, within(1000)));
    expect(e).to.include({ code: 'UNAUTHENTICATED', notExecuted: false });
  });

  it('every member refused this client for good: that refusal, at once', async () => {
    const pool = new FakePool();
    for (const id of ['a', 'b']) {
      const t = pool.add(id, id === 'a' ? 1 : 2);
      t.up = false;
      t.refused = new RpcError('UNAUTHENTICATED', 'bad token');
    }
    expect((await rejected(callBalanced(context(pool), 'm', {}, {}, within(5000)))).code).to.equal('UNAUTHENTICATED');
  });
});

describe('ha/hedged-policy (fake pool)', () => {
  it('sends to several members; the first answer wins and the others are cancelled', async () => {
    const pool = new FakePool();
    const a = pool.add('a', 1);
    const b = pool.add('b', 2);
    const c = pool.add('c', 3);
    a.otherwise = 'hang';
    b.otherwise = { afterMs: 5, result: 'b' };
    c.otherwise = 'hang';
    const r = await callHedged(context(pool), 'm', {}, { idempotent: true }, within(1000), HedgePlan.forkAll(3));
    expect(r.member).to.equal('b');
    expect(r.attempts).to.equal(3);
    expect(a.attempts + b.attempts + c.attempts).to.equal(3);
  });

  it('a hedge due with no member left to send to waits for the attempt out (or the pool), it does not spin', async () => {
    const pool = new FakePool();
    const a = pool.add('a', 1);
    const d = pool.add('d', 2);
    d.up = false;
    a.otherwise = { afterMs: 300, result: 'a' };
    let picks = 0;
    const pick = pool.pick.bind(pool);
    pool.pick = () => { picks++; return pick(); };
    const r = await callHedged(context(pool), 'm', {}, { idempotent: true }, within(2000), new HedgePlan({ delaysMs: [20] }));
    expect(r.member).to.equal('a');
    // Before: about one pick per millisecond until a answered (~280).
    expect(picks).to.be.below(10);
  });

  it('a failed attempt brings the next hedge forward', async () => {
    const pool = new FakePool();
    const a = pool.add('a', 1);
    pool.add('b', 2);
    a.script.push({ error: overloaded() });
    const r = await callHedged(context(pool), 'm', {}, { idempotent: true }, within(1000), new HedgePlan({ delaysMs: [10_000] }));
    expect(r.member).to.equal('b');
  });

  it('truthful: every attempt refused before running → not executed; one that may have run → executed', async () => {
    const pool = new FakePool();
    const a = pool.add('a', 1);
    const b = pool.add('b', 2);
    a.otherwise = { error: new RpcError('UNAUTHENTICATED', 'no') };
    b.otherwise = { error: new RpcError('UNAUTHENTICATED', 'no') };
    const e1 = await rejected(callHedged(context(pool), 'm', {}, { idempotent: true }, within(1000), HedgePlan.forkAll(2)));
    expect(e1).to.include({ code: 'UNAUTHENTICATED', notExecuted: true });
    a.otherwise = { error: lostAfterSend() };
    b.otherwise = { afterMs: 5, error: new RpcError('UNAUTHENTICATED', 'no') };
    const e2 = await rejected(callHedged(context(pool), 'm', {}, { idempotent: true }, within(1000), HedgePlan.forkAll(2)));
    expect(e2).to.include({ code: 'UNAUTHENTICATED', notExecuted: false });
  });

  it('cancelled by the caller while an attempt is out: CANCELLED, not "not executed"', async () => {
    const pool = new FakePool();
    pool.add('a', 1).otherwise = 'hang';
    const ac = new AbortController();
    const p = rejected(callHedged(context(pool), 'm', {}, { idempotent: true, signal: ac.signal }, within(5000), HedgePlan.forkAll(1)));
    await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    expect(await p).to.include({ code: 'CANCELLED', notExecuted: false });
  });
});
