import { expect } from 'chai';
import type { RoutedEndpoint } from '../../lib/routing';
import { createBalancer, hash32, seededRandom } from '../../lib/routing';
import { endpoints } from './helpers';

const KEYS = Array.from({ length: 20_000 }, (_, i) => `user:${i}`);

function assignment(eps: readonly RoutedEndpoint[], replicas?: number): Map<string, string> {
  const p = createBalancer('consistent-hash', { random: seededRandom(1), hashReplicas: replicas }).build(eps);
  return new Map(KEYS.map((k) => [k, p.pick(k)!.id]));
}

describe('routing/consistent-hash', () => {
  it('hash32 is deterministic, 32-bit unsigned and spreads near-identical strings', () => {
    expect(hash32('abc')).to.equal(hash32('abc'));
    expect(hash32('')).to.be.a('number');
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) {
      const h = hash32(`m-1#${i}`);
      expect(h).to.be.within(0, 2 ** 32 - 1);
      buckets[h >>> 28]++;
    }
    for (const b of buckets) expect(b).to.be.within(800, 1200);
  });

  it('ring points are hash32("<id>#<replica>") (the documented, language-neutral placement)', () => {
    const eps = endpoints(2);
    const p = createBalancer('consistent-hash', { random: seededRandom(1), hashReplicas: 3 }).build(eps);
    for (const ep of eps) {
      for (let r = 0; r < 3; r++) {
        // A key with the same hash as a point lands on that point's owner.
        const point = hash32(`${ep.id}#${r}`);
        const owner = (p as unknown as { points: Uint32Array; owners: Int32Array }).points.indexOf(point);
        expect(owner, `${ep.id}#${r}`).to.be.at.least(0);
        expect((p as unknown as { owners: Int32Array }).owners[owner]).to.equal(eps.indexOf(ep));
      }
    }
    expect((p as unknown as { points: Uint32Array }).points.length).to.equal(6);
  });

  it('a key maps to the same endpoint on every pick and for every client (order-independent)', () => {
    const eps = endpoints(10);
    const a = assignment(eps);
    const b = assignment([...eps].reverse());
    const p = createBalancer('consistent-hash', { random: seededRandom(99) }).build(eps);
    for (const k of KEYS.slice(0, 2000)) {
      expect(b.get(k)).to.equal(a.get(k));
      expect(p.pick(k)!.id).to.equal(a.get(k));
      expect(p.pick(k)!.id).to.equal(a.get(k));
    }
  });

  it('spreads keys evenly with the default 160 virtual nodes (each within ±25% of 1/n)', () => {
    const counts = new Map<string, number>();
    for (const id of assignment(endpoints(10)).values()) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.size).to.equal(10);
    for (const c of counts.values()) expect(c).to.be.within(1500, 2500);
  });

  it('removing 1 of 10 endpoints moves only the keys it owned', () => {
    const eps = endpoints(10);
    const before = assignment(eps);
    const after = assignment(eps.filter((e) => e.id !== 'e3'));
    let moved = 0;
    for (const k of KEYS) {
      if (before.get(k) === 'e3') {
        expect(after.get(k)).to.not.equal('e3');
        moved++;
      } else {
        expect(after.get(k), k).to.equal(before.get(k));
      }
    }
    expect(moved / KEYS.length).to.be.within(0.06, 0.14); // ~1/10
  });

  it('adding an 11th endpoint moves only ~1/11 of the keys, all of them to the new endpoint', () => {
    const eps = endpoints(11);
    const before = assignment(eps.slice(0, 10));
    const after = assignment(eps);
    let moved = 0;
    for (const k of KEYS) {
      if (after.get(k) !== before.get(k)) {
        expect(after.get(k)).to.equal('e10');
        moved++;
      }
    }
    expect(moved / KEYS.length).to.be.within(0.05, 0.13);
  });

  it('a weight change (not to 0) does not move keys; draining moves only that endpoint\'s keys', () => {
    const eps = endpoints(5);
    const before = assignment(eps);
    eps[1].weight = 7;
    expect(assignment(eps)).to.deep.equal(before);
    eps[1].weight = 0;
    const drained = assignment(eps);
    for (const k of KEYS) if (before.get(k) !== 'e1') expect(drained.get(k)).to.equal(before.get(k));
  });

  it('without a key it falls back to round-robin', () => {
    const eps = endpoints(4);
    const p = createBalancer('consistent-hash', { random: seededRandom(3) }).build(eps);
    const first = eps.indexOf(p.pick()!);
    for (let i = 1; i < 12; i++) expect(p.pick()).to.equal(eps[(first + i) % 4]);
  });

  it('keys hashing past the last ring point wrap to the first', () => {
    const eps = endpoints(3);
    const p = createBalancer('consistent-hash', { random: seededRandom(3), hashReplicas: 1 }).build(eps);
    const points = eps.map((e) => ({ id: e.id, h: hash32(`${e.id}#0`) })).sort((x, y) => x.h - y.h);
    // Find keys hashing above the highest point; they belong to the lowest point's owner.
    let found = 0;
    for (let i = 0; found < 5 && i < 1_000_000; i++) {
      const k = `wrap-${i}`;
      if (hash32(k) > points[2].h) {
        expect(p.pick(k)!.id).to.equal(points[0].id);
        found++;
      }
    }
    expect(found).to.equal(5);
  });
});
