import type { RoutedEndpoint } from '../endpoint';
import { FNV_OFFSET, fnv1a, hash32, hash32WithNumber } from '../hash';
import type { Picker } from './picker';
import { RoundRobinPicker } from './round-robin';

/** Virtual nodes per endpoint by default: ketama's 160 points per server. */
export const DEFAULT_HASH_REPLICAS = 160;
/** Room for the endpoint's rank below the 32-bit hash in one exactly representable double. */
const RANK_BITS = 2 ** 21;

/**
 * Ketama-style consistent hashing. Each endpoint owns `replicas` points on a 32-bit ring at
 * `hash32("<id>#<i>")`; a key goes to the owner of the first point at or after `hash32(key)`,
 * found by binary search (O(log(n × replicas))).
 *
 * Points depend only on the endpoint's id, never on the list's order or size, so every client
 * builds the same ring from the same members; a key stays on its endpoint as long as that
 * endpoint stays, and removing an endpoint moves only the keys that were on it (about 1/n).
 * Colliding points are ordered by endpoint id, again independent of input order. Weights are
 * not used (scaling virtual nodes by weight would move keys whenever any weight changed);
 * drained endpoints are left out like everywhere else. A pick without a key falls back to
 * round-robin.
 */
export class ConsistentHashPicker implements Picker {
  private readonly points: Uint32Array;
  private readonly owners: Int32Array;
  private readonly fallback: RoundRobinPicker;

  constructor(
    private readonly endpoints: readonly RoutedEndpoint[],
    replicas: number,
    random: () => number,
  ) {
    this.fallback = new RoundRobinPicker(endpoints, random);
    const n = endpoints.length;
    const byId = Array.from({ length: n }, (_, i) => i).sort((x, y) => compareIds(endpoints[x].id, endpoints[y].id));
    // Pack (hash, rank-by-id) into one double so a native numeric sort orders the ring.
    const packed = new Float64Array(n * replicas);
    let k = 0;
    for (let rank = 0; rank < n; rank++) {
      const prefix = fnv1a(FNV_OFFSET, `${endpoints[byId[rank]].id}#`);
      for (let r = 0; r < replicas; r++) packed[k++] = hash32WithNumber(prefix, r) * RANK_BITS + (rank % RANK_BITS);
    }
    packed.sort();
    this.points = new Uint32Array(packed.length);
    this.owners = new Int32Array(packed.length);
    for (let p = 0; p < packed.length; p++) {
      const hash = Math.floor(packed[p] / RANK_BITS);
      this.points[p] = hash;
      this.owners[p] = byId[packed[p] - hash * RANK_BITS];
    }
  }

  get size(): number {
    return this.endpoints.length;
  }

  pick(key?: string): RoutedEndpoint | undefined {
    if (typeof key !== 'string') return this.fallback.pick();
    const points = this.points;
    const len = points.length;
    if (len === 0) return undefined;
    const h = hash32(key);
    // First point >= h, wrapping to the start of the ring.
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.endpoints[this.owners[lo === len ? 0 : lo]];
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
