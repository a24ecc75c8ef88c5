import { expect } from 'chai';
import { InvalidOptionError } from '../../lib/base/errors';
import type { HedgeOptions } from '../../lib/routing';
import { HedgePlan, MAX_HEDGE_ATTEMPTS } from '../../lib/routing';

describe('routing/hedge-policy', () => {
  it('[0, 0, 0] sends four attempts at once ("fork")', () => {
    const plan = new HedgePlan({ delaysMs: [0, 0, 0] });
    expect(plan.attempts).to.equal(4);
    expect(plan.offsetsMs).to.deep.equal([0, 0, 0, 0]);
    const s = plan.start(1000);
    let sent = 0;
    while (s.due(1000)) {
      s.markSent(1000);
      sent++;
    }
    expect(sent).to.equal(4);
    expect(s.exhausted).to.equal(true);
    expect(s.nextAt()).to.equal(undefined);
  });

  it('[50, 100]: original at once, hedges 50 ms and 150 ms later', () => {
    const plan = new HedgePlan({ delaysMs: [50, 100] });
    expect(plan.offsetsMs).to.deep.equal([0, 50, 150]);
    const s = plan.start(0);
    expect(s.due(0)).to.equal(true);
    s.markSent(0);
    expect(s.nextAt()).to.equal(50);
    expect(s.due(49)).to.equal(false);
    expect(s.due(50)).to.equal(true);
    s.markSent(52); // sent a little late: the next delay counts from the actual send
    expect(s.nextAt()).to.equal(152);
    s.markSent(152);
    expect(s.sent).to.equal(3);
    expect(s.due(10_000)).to.equal(false);
  });

  it('maxAttempts cuts the schedule short', () => {
    const plan = new HedgePlan({ delaysMs: [10, 10, 10], maxAttempts: 2 });
    expect(plan.attempts).to.equal(2);
    expect(plan.offsetsMs).to.deep.equal([0, 10]);
    expect(new HedgePlan({ delaysMs: [], maxAttempts: 1 }).attempts).to.equal(1);
  });

  it('a retry-safe failure sends the next hedge at once; a fatal one stops the schedule', () => {
    const s = new HedgePlan({ delaysMs: [500, 500] }).start(0);
    s.markSent(0);
    s.onAttemptFailed(20, true);
    expect(s.nextAt()).to.equal(20);
    s.markSent(20);
    expect(s.nextAt()).to.equal(520); // back to the normal delay from the last send
    s.onAttemptFailed(30, false);
    expect(s.exhausted).to.equal(true);
    expect(s.due(1000)).to.equal(false);
    s.markSent(1000); // ignored
    expect(s.sent).to.equal(2);
  });

  it('forkAll(n) plans n simultaneous attempts', () => {
    const plan = HedgePlan.forkAll(3);
    expect(plan.attempts).to.equal(3);
    expect(plan.offsetsMs).to.deep.equal([0, 0, 0]);
    expect(() => HedgePlan.forkAll(0)).to.throw(InvalidOptionError, /attempts/);
    expect(() => HedgePlan.forkAll(MAX_HEDGE_ATTEMPTS + 1)).to.throw(InvalidOptionError, /attempts/);
  });

  it('validates options', () => {
    const bad: [unknown, RegExp][] = [
      [undefined, /hedge/],
      [{}, /delaysMs/],
      [{ delaysMs: 'fast' }, /delaysMs/],
      [{ delaysMs: [10, -1] }, /delaysMs\[1\]/],
      [{ delaysMs: [Number.NaN] }, /delaysMs\[0\]/],
      [{ delaysMs: new Array<number>(MAX_HEDGE_ATTEMPTS).fill(0) }, /delaysMs/],
      [{ delaysMs: [1, 2], maxAttempts: 4 }, /maxAttempts/],
      [{ delaysMs: [1, 2], maxAttempts: 0 }, /maxAttempts/],
    ];
    for (const [opts, re] of bad) expect(() => new HedgePlan(opts as HedgeOptions), JSON.stringify(opts)).to.throw(InvalidOptionError, re);
  });
});
