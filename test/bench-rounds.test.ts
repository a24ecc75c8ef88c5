import { expect } from 'chai';
import { median, pairedMedian, roundOrder } from '../bench/lib/rounds';

describe('bench rounds: order and paired verdicts', () => {
  it('median of odd and even counts, NaN when empty, input untouched', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).to.equal(3);
    expect(xs).to.deep.equal([5, 1, 3]);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(Number.isNaN(median([]))).to.equal(true);
  });

  it('reverses the order every other round, so that no one always runs first or last', () => {
    const order = [0, 1, 2, 3].map((r) => roundOrder(['a', 'b', 'c'], r));
    expect(order).to.deep.equal([['a', 'b', 'c'], ['c', 'b', 'a'], ['a', 'b', 'c'], ['c', 'b', 'a']]);
    const firsts = order.map((o) => o[0]);
    expect(firsts.filter((x) => x === 'a')).to.have.length(2);
    expect(firsts.filter((x) => x === 'c')).to.have.length(2);
  });

  it('compares within a round: a slow round for both does not move the verdict, one lucky round does not decide it', () => {
    // a is 10 % ahead of b in every round; round 1 is slow for both (load), and b had one lucky round.
    const a = [{ round: 0, v: 110 }, { round: 1, v: 55 }, { round: 2, v: 110 }, { round: 3, v: 110 }, { round: 4, v: 110 }];
    const b = [{ round: 0, v: 100 }, { round: 1, v: 50 }, { round: 2, v: 100 }, { round: 3, v: 200 }, { round: 4, v: 100 }];
    const ratio = pairedMedian(a, b, (r) => r.v)!;
    expect(ratio).to.be.closeTo(1.1, 1e-9);
    // The best rounds alone would have said a is at 55 % of b.
    expect(Math.max(...a.map((r) => r.v)) / Math.max(...b.map((r) => r.v))).to.be.closeTo(0.55, 1e-9);
  });

  it('pairs by round number, leaves out unmatched rounds and non-positive denominators', () => {
    const a = [{ round: 2, v: 30 }, { round: 0, v: 10 }, { round: 5, v: 99 }, { round: 1, v: 7 }];
    const b = [{ round: 0, v: 5 }, { round: 1, v: 0 }, { round: 2, v: 10 }];
    expect(pairedMedian(a, b, (r) => r.v)).to.equal(2.5); // ratios 3 (round 2) and 2 (round 0)
    expect(pairedMedian(a, [], (r) => r.v)).to.equal(undefined);
  });
});
