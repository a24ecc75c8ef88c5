import { expect } from 'chai';
import fc from 'fast-check';
import type { BalancerName, RoutedEndpoint } from '../../lib/routing';
import { BALANCER_NAMES, createBalancer, createEndpoint, recordLatency, seededRandom } from '../../lib/routing';
import { InvalidOptionError } from '../../lib/base/errors';
import { chiSquare, countPicks, endpoints } from './helpers';

// Chi-square critical values at p = 0.001 by degrees of freedom: a correct picker fails 1 in 1000
// seeds; the seeds are fixed, so each test is deterministic.
const CHI2_P001: Record<number, number> = { 2: 13.82, 4: 18.47, 9: 27.88 };

describe('routing/balancers', () => {
  describe('common behaviour', () => {
    for (const name of BALANCER_NAMES) {
      it(`${name}: empty list -> undefined, single endpoint -> it`, () => {
        const b = createBalancer(name, { random: seededRandom(1)});
        const empty = b.build([]);
        expect(empty.size).to.equal(0);
        expect(empty.pick()).to.equal(undefined);
        expect(empty.pick('k')).to.equal(undefined);
        const one = endpoints(1);
        const p = b.build(one);
        expect(p.size).to.equal(1);
        for (let i = 0; i < 5; i++) expect(p.pick(`k${i}`)).to.equal(one[0]);
      });

      it(`${name}: skips drained endpoints, but uses all when all are drained`, () => {
        const b = createBalancer(name, { random: seededRandom(2)});
        const eps = endpoints(4, [1, 0, 2, 0]);
        const p = b.build(eps);
        expect(p.size).to.equal(2);
        const seen = new Set<string>();
        for (let i = 0; i < 200; i++) seen.add(p.pick(`key-${i}`)!.id);
        expect([...seen].sort()).to.deep.equal(['e0', 'e2']);
        const drained = b.build(endpoints(3, [0, 0, 0]));
        expect(drained.size).to.equal(3);
        const all = new Set<string>();
        for (let i = 0; i < 300; i++) all.add(drained.pick(`key-${i}`)!.id);
        expect(all.size).to.equal(3);
      });

      it(`${name}: the picker does not see later changes to the caller's array`, () => {
        const eps = endpoints(3);
        const p = createBalancer(name, { random: seededRandom(3)}).build(eps);
        eps.length = 0;
        expect(p.size).to.equal(3);
        expect(p.pick('x')).to.not.equal(undefined);
      });
    }

    it('rejects unknown names and bad options with InvalidOptionError', () => {
      expect(() => createBalancer('fastest' as BalancerName)).to.throw(InvalidOptionError, /balancer/);
      expect(() => createBalancer('random', { random: 5 as unknown as () => number })).to.throw(InvalidOptionError, /random/);
      expect(() => createBalancer('consistent-hash', { hashReplicas: 0 })).to.throw(InvalidOptionError, /hashReplicas/);
      expect(() => createBalancer('p2c', { latencyDecayMs: -1 })).to.throw(InvalidOptionError, /latencyDecayMs/);
    });

    it('a bad weight set on an endpoint later is treated as drained, not a crash', () => {
      const eps = endpoints(3);
      eps[1].weight = Number.NaN;
      eps[2].weight = -4;
      for (const name of BALANCER_NAMES) {
        const p = createBalancer(name, { random: seededRandom(4)}).build(eps);
        expect(p.pick('k')!.id, name).to.equal('e0');
      }
    });
  });

  describe('round-robin', () => {
    it('visits every endpoint exactly once per cycle, in order, from a random start', () => {
      const eps = endpoints(5);
      const starts = new Set<string>();
      for (let seed = 1; seed <= 40; seed++) {
        const p = createBalancer('round-robin', { random: seededRandom(seed) }).build(eps);
        const first = p.pick()!;
        starts.add(first.id);
        const start = eps.indexOf(first);
        for (let i = 1; i < 23; i++) expect(p.pick()).to.equal(eps[(start + i) % 5]);
      }
      expect(starts.size).to.be.greaterThan(1);
    });
  });

  describe('random', () => {
    it('is uniform over 100k picks (chi-square, p=0.001)', () => {
      const eps = endpoints(10);
      const p = createBalancer('random', { random: seededRandom(42) }).build(eps);
      const total = 100_000;
      const counts = countPicks(() => p.pick(), total);
      const share = new Map(eps.map((e) => [e.id, 0.1]));
      expect(chiSquare(counts, share, total)).to.be.lessThan(CHI2_P001[9]);
    });
  });

  describe('weighted-random', () => {
    it('follows the weights over 100k picks (chi-square, p=0.001)', () => {
      const weights = [1, 2, 3, 4, 10];
      const eps = endpoints(5, weights);
      const p = createBalancer('weighted-random', { random: seededRandom(7) }).build(eps);
      const total = 100_000;
      const counts = countPicks(() => p.pick(), total);
      const share = new Map(eps.map((e, i) => [e.id, weights[i] / 20]));
      expect(chiSquare(counts, share, total)).to.be.lessThan(CHI2_P001[4]);
    });

    it('huge weights (1e308 each) still split evenly: the sums do not overflow to Infinity (all went to the last)', () => {
      const eps = endpoints(3, [1e308, 1e308, 1e308]);
      const p = createBalancer('weighted-random', { random: seededRandom(3) }).build(eps);
      const counts = countPicks(() => p.pick(), 30_000);
      const share = new Map(eps.map((e) => [e.id, 1 / 3]));
      expect(chiSquare(counts, share, 30_000)).to.be.lessThan(CHI2_P001[2]);
    });

    it('maps the random source onto prefix-sum boundaries exactly', () => {
      const eps = endpoints(3, [1, 2, 1]);
      let r = 0;
      const p = createBalancer('weighted-random', { random: () => r }).build(eps);
      const at = (x: number): string => {
        r = x;
        return p.pick()!.id;
      };
      expect(at(0)).to.equal('e0');
      expect(at(0.2499)).to.equal('e0');
      expect(at(0.25)).to.equal('e1');
      expect(at(0.7499)).to.equal('e1');
      expect(at(0.75)).to.equal('e2');
      expect(at(0.9999999)).to.equal('e2');
    });
  });

  describe('weighted-round-robin (smooth, nginx)', () => {
    const cycleOf = (weights: number[], seed = 1): string => {
      const eps = endpoints(weights.length, weights);
      const p = createBalancer('weighted-round-robin', { random: seededRandom(seed) }).build(eps);
      const names = 'abcdefghijklmnopqrstuvwxyz';
      const sum = weights.reduce((a, b) => a + b, 0);
      let out = '';
      for (let i = 0; i < sum; i++) out += names[eps.indexOf(p.pick()!)];
      return out;
    };
    const rotations = (s: string): string[] => Array.from({ length: s.length }, (_, i) => s.slice(i) + s.slice(0, i));

    it('{5,1,1} cycles through nginx\'s "aabacaa" (from a random point of the cycle)', () => {
      for (let seed = 1; seed <= 10; seed++) expect(rotations('aabacaa')).to.include(cycleOf([5, 1, 1], seed));
    });

    it('{4,2,1} and {2,1} match nginx too', () => {
      // nginx: {4,2,1} -> a b a c a b a ; {2,1} -> a b a
      expect(rotations('abacaba')).to.include(cycleOf([4, 2, 1]));
      expect(rotations('aba')).to.include(cycleOf([2, 1]));
    });

    it('never bursts: {5,1,1} never gives b or c back to back, also across cycles', () => {
      const s = cycleOf([5, 1, 1]).repeat(3);
      expect(s).to.not.match(/bb|cc|bc|cb/);
    });

    it('property: the table is exactly nginx\'s live algorithm (up to the random start)', () => {
      // Reference: ngx_http_upstream_get_peer without failures, O(n) per pick.
      const nginx = (weights: number[], picks: number): number[] => {
        const current = weights.map(() => 0);
        const total = weights.reduce((a, b) => a + b, 0);
        const out: number[] = [];
        for (let p = 0; p < picks; p++) {
          let best = -1;
          for (let i = 0; i < weights.length; i++) {
            current[i] += weights[i];
            if (best === -1 || current[i] > current[best]) best = i;
          }
          current[best] -= total;
          out.push(best);
        }
        return out;
      };
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 15 }), fc.integer(), (weights, seed) => {
          const eps = endpoints(weights.length, weights);
          const p = createBalancer('weighted-round-robin', { random: seededRandom(seed) }).build(eps);
          const sum = weights.reduce((a, b) => a + b, 0);
          const ours = Array.from({ length: sum }, () => eps.indexOf(p.pick()!)).join(',');
          // nginx's cycle, divided by the gcd of the weights, repeated: ours must be a window of it.
          const reference = nginx(weights, 3 * sum).join(',');
          expect(`,${reference},`).to.include(`,${ours},`);
        }),
        { numRuns: 200, seed: 424242 },
      );
    });

    it('property: every window of sum(weights) picks holds exactly the weights', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 12 }), fc.integer(), (weights, seed) => {
          const eps = endpoints(weights.length, weights);
          const p = createBalancer('weighted-round-robin', { random: seededRandom(seed) }).build(eps);
          const sum = weights.reduce((a, b) => a + b, 0);
          const seq: number[] = [];
          for (let i = 0; i < 3 * sum; i++) seq.push(eps.indexOf(p.pick()!));
          for (const offset of [0, 1, Math.floor(sum / 2), sum]) {
            const counts = new Array<number>(weights.length).fill(0);
            for (const i of seq.slice(offset, offset + sum)) counts[i]++;
            expect(counts).to.deep.equal(weights);
          }
        }),
        { numRuns: 200, seed: 20240601 },
      );
    });

    it('property: large co-prime weights (heap path) still give exactly the weights per cycle', function () {
      this.timeout(30_000); // ~3 M picks: slow only on a loaded machine
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 900, max: 5000 }), { minLength: 200, maxLength: 260 }), (weights) => {
          const eps = endpoints(weights.length, weights);
          const p = createBalancer('weighted-round-robin', { random: seededRandom(9) }).build(eps);
          const sum = weights.reduce((a, b) => a + b, 0);
          const counts = new Map<RoutedEndpoint, number>();
          for (let cycle = 0; cycle < 2; cycle++) {
            counts.clear();
            for (let i = 0; i < sum; i++) {
              const ep = p.pick()!;
              counts.set(ep, (counts.get(ep) ?? 0) + 1);
            }
            eps.forEach((ep, i) => expect(counts.get(ep)).to.equal(weights[i]));
          }
        }),
        { numRuns: 2, seed: 7 },
      );
    });

    for (const [path, heavy] of [
      ['EDF table', [5003, 4999]],
      ['live EDF heap', [99_991, 99_989, 99_971]],
    ] as const) {
      it(`${path}: the heavy endpoints are never more than a few picks apart, and each cycle is exact`, () => {
        const weights = [...new Array<number>(500).fill(1), ...heavy];
        const eps = endpoints(weights.length, weights);
        const index = new Map(eps.map((ep, i) => [ep, i]));
        const p = createBalancer('weighted-round-robin', { random: seededRandom(3) }).build(eps);
        expect(p.constructor.name).to.equal(path === 'EDF table' ? 'TablePicker' : 'EdfPicker');
        const sum = weights.reduce((a, b) => a + b, 0);
        let lastHeavy = -1;
        let maxGap = 0;
        const counts = new Array<number>(weights.length).fill(0);
        for (let i = 0; i < sum; i++) {
          const idx = index.get(p.pick()!)!;
          counts[idx]++;
          if (idx >= 500) {
            if (lastHeavy >= 0) maxGap = Math.max(maxGap, i - lastHeavy);
            lastHeavy = i;
          }
        }
        expect(counts).to.deep.equal(weights);
        // The heavy pair holds 95%+ of the weight: the 500 light picks are spread between them.
        expect(maxGap).to.be.at.most(2);
      });
    }

    it('fractional weights are honoured to their ratio', () => {
      const eps = endpoints(2, [0.5, 0.25]);
      const p = createBalancer('weighted-round-robin', { random: seededRandom(1) }).build(eps);
      const counts = countPicks(() => p.pick(), 300);
      expect(counts.get('e0')).to.equal(200);
      expect(counts.get('e1')).to.equal(100);
    });
  });

  describe('least-outstanding', () => {
    it('picks the endpoint with the fewest calls in flight', () => {
      const eps = endpoints(5);
      [4, 2, 7, 1, 3].forEach((o, i) => (eps[i].outstanding = o));
      const p = createBalancer('least-outstanding', { random: seededRandom(5) }).build(eps);
      for (let i = 0; i < 10; i++) expect(p.pick()).to.equal(eps[3]);
      eps[0].outstanding = 0;
      expect(p.pick()).to.equal(eps[0]);
    });

    it('spreads ties round-robin', () => {
      const eps = endpoints(4);
      const p = createBalancer('least-outstanding', { random: seededRandom(6) }).build(eps);
      const counts = countPicks(() => p.pick(), 400);
      for (const ep of eps) expect(counts.get(ep.id)).to.equal(100);
    });

    it('accounts for weight like nginx least_conn (outstanding / weight)', () => {
      const eps = endpoints(2, [1, 4]);
      eps[0].outstanding = 1;
      eps[1].outstanding = 3; // 3/4 < 1/1
      const p = createBalancer('least-outstanding', { random: seededRandom(1) }).build(eps);
      expect(p.pick()).to.equal(eps[1]);
    });

    it('keeps load balanced when the client increments outstanding per pick', () => {
      const eps = endpoints(6);
      const p = createBalancer('least-outstanding', { random: seededRandom(8) }).build(eps);
      for (let i = 0; i < 600; i++) p.pick()!.outstanding++;
      for (const ep of eps) expect(ep.outstanding).to.equal(100);
    });
  });

  describe('p2c', () => {
    it('never picks the more loaded of two endpoints', () => {
      const eps = endpoints(2);
      eps[0].outstanding = 5;
      const p = createBalancer('p2c', { random: seededRandom(10)}).build(eps);
      for (let i = 0; i < 100; i++) expect(p.pick()).to.equal(eps[1]);
    });

    it('prefers less loaded and faster endpoints; the most expensive one is never chosen', () => {
      const eps = endpoints(10);
      eps.forEach((ep, i) => {
        ep.outstanding = i;
        recordLatency(ep, 1000, 0);
      });
      const p = createBalancer('p2c', { random: seededRandom(11)}).build(eps);
      const counts = countPicks(() => p.pick(), 10_000);
      expect(counts.get('e9') ?? 0).to.equal(0);
      // With 2 random choices, P(pick rank i) = 2 (n-1-i) / (n (n-1)): e0 ~ 20%, e8 ~ 2.2%.
      expect(counts.get('e0')!).to.be.within(1800, 2200);
      expect(counts.get('e0')!).to.be.greaterThan(counts.get('e4')!);
      expect(counts.get('e4')!).to.be.greaterThan(counts.get('e8')!);
    });

    it('uses latency: cost = ewma * (outstanding + 1)', () => {
      const eps = endpoints(2);
      recordLatency(eps[0], 10_000, 0); // slow, idle: cost 10000
      recordLatency(eps[1], 1_000, 0); // fast, 3 in flight: cost 4000
      eps[1].outstanding = 3;
      const p = createBalancer('p2c', { random: seededRandom(12)}).build(eps);
      expect(p.pick()).to.equal(eps[1]);
      eps[1].outstanding = 10; // cost 11000
      expect(p.pick()).to.equal(eps[0]);
    });

    it('a once-slow endpoint wins again as its estimate decays with time', () => {
      const eps = endpoints(2);
      recordLatency(eps[0], 50_000, 0);
      recordLatency(eps[1], 1_000, 0);
      eps[1].outstanding = 1; // cost 2000 vs 50000
      const p = createBalancer('p2c', { random: seededRandom(13), latencyDecayMs: 10_000 }).build(eps);
      expect(p.pick()).to.equal(eps[1]);
      recordLatency(eps[1], 1_000, 60_000); // eps[1] measured again 60 s later: cost 1000 * 2
      // eps[0] had no reply for 60 s: 50000 * e^-6 ≈ 124 — it gets traffic again and is re-measured.
      expect(p.pick()).to.equal(eps[0]);
    });

    it('an endpoint with calls in flight and no latency sample yet is avoided (Finagle penalty)', () => {
      const eps = endpoints(2);
      recordLatency(eps[0], 100_000, 0);
      eps[0].outstanding = 20;
      eps[1].outstanding = 1; // new endpoint, first call still out
      const p = createBalancer('p2c', { random: seededRandom(14)}).build(eps);
      expect(p.pick()).to.equal(eps[0]);
      eps[1].outstanding = 0;
      expect(p.pick()).to.equal(eps[1]);
    });

    it('picks two distinct candidates even with a source stuck at its extremes', () => {
      const eps = endpoints(3);
      eps[0].outstanding = 9;
      eps[2].outstanding = 1;
      for (const r of [0, 0.9999999999, 1, -1, Number.NaN]) {
        const p = createBalancer('p2c', { random: () => r}).build(eps);
        const ep = p.pick();
        expect(ep, String(r)).to.not.equal(undefined);
        expect(ep, String(r)).to.not.equal(eps[0]);
      }
    });
  });

  describe('endpoints', () => {
    it('createEndpoint validates and starts idle', () => {
      const ep = createEndpoint('m-1', 'ws://127.0.0.1:1', 3, 'z1');
      expect(ep).to.include({ id: 'm-1', weight: 3, zone: 'z1', outstanding: 0, ewmaLatencyUs: 0 });
      expect(() => createEndpoint('', 'ws://x')).to.throw(InvalidOptionError, /id/);
      expect(() => createEndpoint('a', 'ws://x', -1)).to.throw(InvalidOptionError, /weight/);
    });

    it('recordLatency is a peak EWMA: jumps up at once, comes down with time', () => {
      const ep = createEndpoint('a', 'ws://x');
      recordLatency(ep, 1000, 0);
      expect(ep.ewmaLatencyUs).to.equal(1000);
      recordLatency(ep, 5000, 1);
      expect(ep.ewmaLatencyUs).to.equal(5000);
      recordLatency(ep, 1000, 1); // no time passed: a lower sample does not move it
      expect(ep.ewmaLatencyUs).to.equal(5000);
      recordLatency(ep, 1000, 1 + 10_000); // one decay window: weight e^-1 on the old value
      expect(ep.ewmaLatencyUs).to.be.closeTo(5000 * Math.exp(-1) + 1000 * (1 - Math.exp(-1)), 1e-6);
      const before = ep.ewmaLatencyUs;
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) recordLatency(ep, bad, 20_000);
      recordLatency(ep, 10, Number.NaN);
      expect(ep.ewmaLatencyUs).to.equal(before);
    });
  });
});
