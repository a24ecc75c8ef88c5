import { expect } from 'chai';
import { monotonicMs } from '../../lib/base/clock';
import { InFlightBudget } from '../../lib/transport/in-flight-budget';

describe('transport/in-flight-budget: idle()', () => {
  const budgets: InFlightBudget[] = [];
  const budget = (): InFlightBudget => {
    const b = new InFlightBudget(4, () => Number.POSITIVE_INFINITY);
    budgets.push(b);
    return b;
  };
  afterEach(() => { for (const b of budgets.splice(0)) b.stop(); });

  it('resolves at once when no call is in flight', async () => {
    const b = budget();
    let done = false;
    void b.idle(60_000).then(() => { done = true; });
    await Promise.resolve();
    await Promise.resolve();
    expect(done).to.equal(true);
  });

  it('resolves when the last call ends — not on a timer — and every waiter with it', async () => {
    const b = budget();
    const far = monotonicMs() + 60_000;
    b.acquire(far);
    b.acquire(far);
    const woken: number[] = [];
    const waits = [b.idle(60_000).then(() => woken.push(1)), b.idle(60_000).then(() => woken.push(2))];
    b.release();
    await new Promise((r) => setImmediate(r));
    expect(woken, 'one call still in flight').to.deep.equal([]);
    b.release();
    await Promise.all(waits);
    expect(woken.sort()).to.deep.equal([1, 2]);
  });

  it('gives up after waitMs while a call stays in flight; the waiter is dropped (a later end wakes nobody)', async () => {
    const b = budget();
    b.acquire(monotonicMs() + 60_000);
    await b.idle(10);
    expect(b.inFlight).to.equal(1);
    expect((b as unknown as { idleWaiters: unknown[] }).idleWaiters).to.have.length(0);
    b.release();
  });
});
