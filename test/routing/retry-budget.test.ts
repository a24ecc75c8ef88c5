import { expect } from 'chai';
import fc from 'fast-check';
import { InvalidOptionError } from '../../lib/base/errors';
import { RetryBudget, WindowedCounter } from '../../lib/routing';

function withdrawAll(b: RetryBudget, nowMs: number): number {
  let n = 0;
  while (b.tryWithdraw(nowMs)) n++;
  return n;
}

describe('routing/retry-budget', () => {
  it('allows ratio x calls plus the floor over the ttl (0.2 x 100 + 10/s x 10 s = 120)', () => {
    const b = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 10, ttlMs: 10_000 });
    for (let i = 0; i < 100; i++) b.deposit(0);
    expect(b.balance(0)).to.equal(120);
    expect(withdrawAll(b, 0)).to.equal(120);
    expect(b.tryWithdraw(0)).to.equal(false);
    expect(b.balance(0)).to.equal(0);
  });

  it('with no traffic only the floor is available, and ratio 0 means floor only', () => {
    expect(withdrawAll(new RetryBudget({ minRetriesPerSecond: 3, ttlMs: 2000 }), 0)).to.equal(6);
    const b = new RetryBudget({ ratio: 0, minRetriesPerSecond: 1, ttlMs: 5000 });
    for (let i = 0; i < 1000; i++) b.deposit(0);
    expect(withdrawAll(b, 0)).to.equal(5);
  });

  it('deposits and withdrawals expire after the ttl', () => {
    const b = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, ttlMs: 10_000 });
    for (let i = 0; i < 10; i++) b.deposit(0);
    expect(withdrawAll(b, 0)).to.equal(5);
    for (let i = 0; i < 10; i++) b.deposit(5_000);
    expect(withdrawAll(b, 5_000)).to.equal(5);
    // At 10 s the first second's deposits (+5) and withdrawals (-5) have left the window together.
    expect(b.balance(10_000)).to.equal(0);
    // At 15 s everything has expired.
    expect(b.balance(15_000)).to.equal(0);
    for (let i = 0; i < 4; i++) b.deposit(15_000);
    expect(b.balance(15_000)).to.equal(2);
  });

  it('spent floor retries come back after the ttl', () => {
    const b = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 1, ttlMs: 3000 });
    expect(withdrawAll(b, 0)).to.equal(3);
    expect(b.tryWithdraw(2999)).to.equal(false);
    expect(b.balance(3000)).to.equal(3);
  });

  it('property: over any run, retries in a window never exceed ratio x deposits + floor x ttl', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 700 }), deposit: fc.boolean() }), { minLength: 1, maxLength: 400 }),
        (ops) => {
          const b = new RetryBudget({ ratio: 0.25, minRetriesPerSecond: 2, ttlMs: 4000 });
          let now = 0;
          const events: { t: number; deposit: boolean }[] = [];
          for (const op of ops) {
            now += op.dt;
            if (op.deposit) {
              b.deposit(now);
              events.push({ t: now, deposit: true });
            } else if (b.tryWithdraw(now)) {
              events.push({ t: now, deposit: false });
            }
          }
          // At each granted retry (time t) the window holds every bucket back to floor(t/1s) - 3,
          // so: retries in [t - 3 s, t] <= 0.25 x deposits in [t - 4 s, t] + 2/s x 4 s.
          for (const e of events) {
            if (e.deposit) continue;
            const retries = events.filter((x) => !x.deposit && x.t >= e.t - 3000 && x.t <= e.t).length;
            const deposits = events.filter((x) => x.deposit && x.t >= e.t - 4000 && x.t <= e.t).length;
            expect(4 * retries).to.be.at.most(deposits + 32);
          }
          // And it is not stingy: with the window full of deposits, a retry is granted.
          const fresh = new RetryBudget({ ratio: 0.25, minRetriesPerSecond: 0, ttlMs: 4000 });
          for (let i = 0; i < 4; i++) fresh.deposit(now);
          expect(fresh.tryWithdraw(now)).to.equal(true);
        },
      ),
      { numRuns: 100, seed: 5 },
    );
  });

  it('a clock going backwards or NaN does not corrupt the balance', () => {
    const b = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, ttlMs: 1000 });
    b.deposit(5000);
    b.deposit(1000);
    b.deposit(Number.NaN);
    expect(b.balance(5000)).to.equal(3);
    expect(Number.isNaN(b.balance(Number.NaN))).to.equal(false);
  });

  it('validates options', () => {
    expect(() => new RetryBudget({ ratio: -0.1 })).to.throw(InvalidOptionError, /ratio/);
    expect(() => new RetryBudget({ ratio: 1001 })).to.throw(InvalidOptionError, /ratio/);
    expect(() => new RetryBudget({ minRetriesPerSecond: Number.NaN })).to.throw(InvalidOptionError, /minRetriesPerSecond/);
    expect(() => new RetryBudget({ ttlMs: 999 })).to.throw(InvalidOptionError, /ttlMs/);
    expect(() => new RetryBudget(null as unknown as object)).to.throw(InvalidOptionError);
  });
});

describe('routing/windowed-counter', () => {
  it('sums over the window and forgets expired buckets', () => {
    const c = new WindowedCounter(1000, 10);
    c.add(0, 1);
    c.add(550, 2);
    expect(c.sum(999)).to.equal(3);
    expect(c.sum(1000)).to.equal(2); // bucket [0,100) left the window
    expect(c.sum(1499)).to.equal(2);
    expect(c.sum(1500)).to.equal(0); // bucket [500,600) left: the window is [600,1600)
    c.add(50_000, 4);
    expect(c.sum(50_000)).to.equal(4);
    c.add(-20, 1); // backwards: counted in the current bucket
    expect(c.sum(50_000)).to.equal(5);
  });
});
