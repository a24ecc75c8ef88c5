import { expect } from 'chai';
import fc from 'fast-check';
import { InvalidOptionError } from '../../lib/base/errors';
import type { JitterMode } from '../../lib/routing';
import { Backoff, backoffDelay, seededRandom } from '../../lib/routing';

describe('routing/backoff', () => {
  const opts = { initialMs: 100, maxMs: 5000, factor: 2 };

  it('no jitter: exactly initial x factor^(attempt-1), capped', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 100, 1e6].map((a) => backoffDelay(a, { ...opts, jitter: 'none' }));
    expect(delays).to.deep.equal([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('the random source maps onto each mode as documented', () => {
    const at = (jitter: JitterMode, attempt: number, r: number, prev?: number): number =>
      backoffDelay(attempt, { ...opts, jitter }, () => r, prev);
    expect(at('full', 3, 0)).to.equal(0);
    expect(at('full', 3, 0.5)).to.equal(200);
    expect(at('equal', 3, 0)).to.equal(200);
    expect(at('equal', 3, 0.5)).to.equal(300);
    expect(at('decorrelated', 1, 0.5)).to.equal(200); // 100 + 0.5 x (300 - 100)
    expect(at('decorrelated', 5, 1 - 1e-12, 1000)).to.be.closeTo(3000, 1e-6);
    expect(at('decorrelated', 5, 0.99, 4000)).to.be.at.most(5000);
  });

  it('property: every mode stays within its bounds for any attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<JitterMode>('full', 'equal', 'decorrelated', 'none'),
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (jitter, attempt, r, prev) => {
          const d = backoffDelay(attempt, { ...opts, jitter }, () => r, prev);
          const ceiling = Math.min(5000, 100 * 2 ** (attempt - 1));
          expect(Number.isFinite(d)).to.equal(true);
          if (jitter === 'full') expect(d).to.be.within(0, ceiling);
          if (jitter === 'equal') expect(d).to.be.within(ceiling / 2, ceiling);
          if (jitter === 'none') expect(d).to.equal(ceiling);
          if (jitter === 'decorrelated') expect(d).to.be.within(100, 5000);
        },
      ),
      { numRuns: 500, seed: 11 },
    );
  });

  it('a broken random source is clamped', () => {
    for (const r of [Number.NaN, -1, 2]) {
      const d = backoffDelay(3, { ...opts, jitter: 'full' }, () => r);
      expect(d).to.be.within(0, 400);
    }
  });

  it('Backoff grows over attempts, and reset() starts over', () => {
    const b = new Backoff({ ...opts, jitter: 'decorrelated' }, seededRandom(3));
    const first = [b.next(), b.next(), b.next(), b.next(), b.next(), b.next(), b.next(), b.next()];
    expect(b.attempts).to.equal(8);
    for (const d of first) expect(d).to.be.within(100, 5000);
    b.reset();
    expect(b.attempts).to.equal(0);
    expect(b.next()).to.be.within(100, 300);
    const full = new Backoff({ ...opts, jitter: 'none' });
    expect([full.next(), full.next(), full.next()]).to.deep.equal([100, 200, 400]);
  });

  it('validates options and the attempt number', () => {
    expect(() => backoffDelay(0, opts)).to.throw(InvalidOptionError, /attempt/);
    expect(() => backoffDelay(1.5, opts)).to.throw(InvalidOptionError, /attempt/);
    expect(() => backoffDelay(1, { initialMs: 0 })).to.throw(InvalidOptionError, /initialMs/);
    expect(() => backoffDelay(1, { initialMs: 500, maxMs: 100 })).to.throw(InvalidOptionError, /maxMs/);
    expect(() => backoffDelay(1, { factor: 0.5 })).to.throw(InvalidOptionError, /factor/);
    expect(() => backoffDelay(1, { jitter: 'wild' as JitterMode })).to.throw(InvalidOptionError, /jitter/);
    expect(() => new Backoff({ maxMs: -1 })).to.throw(InvalidOptionError, /maxMs/);
  });
});
