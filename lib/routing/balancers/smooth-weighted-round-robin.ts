import type { RoutedEndpoint } from '../endpoint';
import { randomIndex } from '../random';
import type { Picker } from './picker';

/**
 * Above this many steps of work (endpoints × cycle length) the nginx schedule is not precomputed
 * and the picker runs an earliest-deadline-first heap instead (a few ms of work at most per build).
 */
const PRECOMPUTE_BUDGET = 1 << 20;
/** Longest cycle stored as a table (1 MB); longer cycles run the heap live. */
const MAX_TABLE = 1 << 18;
/**
 * Integer weights up to this stay exact; others are scaled so the largest becomes QUANTUM.
 * Bounded so the heap's cross-multiplied deadlines stay exact doubles (< 2^53) up to 1e5 endpoints.
 */
const MAX_EXACT_WEIGHT = 100_000;
const QUANTUM = 10_000;

/**
 * Smooth weighted round-robin. Every window of `sum(weights)` consecutive picks (one cycle)
 * gives each endpoint exactly its weight, interleaved rather than in bursts.
 *
 * nginx (`ngx_http_upstream_get_peer`) does, per pick: every peer's `current += weight`, take
 * the peer with the largest `current`, subtract the total from it. That is O(n) per pick, so
 * here the schedule is periodic with period `sum(weights)` and is computed once at build time
 * into a table — `pick()` is then an array read. For {a:5, b:1, c:1} the cycle is
 * `a a b a c a a`, exactly nginx's. The start position in the cycle is random so clients do not
 * march in step (any window of one cycle still holds exactly the weights).
 *
 * When nginx's O(n) per step would make the build too slow (many endpoints, large co-prime
 * weights) the schedule comes from the scheme gRPC and Envoy use instead: earliest deadline first
 * in a binary heap, O(log n) per step — run for one cycle at build time into the same kind of
 * table, or, for cycles over 2^18 picks, live in pick(). Within a cycle, the k-th pick of endpoint i (weight w) is due at (k - 1 + u_i) / w,
 * with offsets u_i = (rank_i + 1/2) / n spread evenly over [0, 1) (ranks rotated by a random
 * start): every deadline of a cycle lies inside it, so each cycle still holds exactly the
 * weights, and endpoints of equal weight are staggered instead of all falling due at once (with
 * a common offset, 500 endpoints of weight 1 would come as one burst of 500 picks). Deadlines
 * are compared as exact integer cross-products, so there is no float drift.
 *
 * Weights are made integers first: integers up to 1e5 are used as they are, anything else is
 * scaled so the largest weight becomes 10000 (0.01% resolution); then divided by their gcd.
 */
export function createSmoothWeightedPicker(endpoints: readonly RoutedEndpoint[], weights: Float64Array, random: () => number): Picker {
  const n = endpoints.length;
  if (n === 0) return new TablePicker(endpoints, new Int32Array(0), 0);
  const w = integerWeights(weights);
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i];
  if (n * total <= PRECOMPUTE_BUDGET) {
    return new TablePicker(endpoints, nginxSchedule(w, total), randomIndex(random, total));
  }
  const edf = new EdfPicker(endpoints, w, randomIndex(random, n));
  if (total > MAX_TABLE) return edf;
  // Run the heap for one cycle at build time (O(total × log n)): picks are then table reads.
  const schedule = new Int32Array(total);
  for (let step = 0; step < total; step++) schedule[step] = edf.nextIndex();
  return new TablePicker(endpoints, schedule, 0);
}

export function integerWeights(weights: Float64Array): Float64Array {
  const n = weights.length;
  let max = 0;
  let allIntegers = true;
  for (let i = 0; i < n; i++) {
    const x = weights[i];
    if (x > max) max = x;
    if (!Number.isInteger(x)) allIntegers = false;
  }
  const out = new Float64Array(n);
  const exact = allIntegers && max <= MAX_EXACT_WEIGHT;
  for (let i = 0; i < n; i++) {
    out[i] = exact ? weights[i] : Math.max(1, Math.round((weights[i] / max) * QUANTUM));
  }
  let g = out[0];
  for (let i = 1; i < n && g > 1; i++) g = gcd(g, out[i]);
  if (g > 1) for (let i = 0; i < n; i++) out[i] /= g;
  return out;
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** One full nginx cycle: the endpoint index chosen at each step. */
export function nginxSchedule(w: Float64Array, total: number): Int32Array {
  const n = w.length;
  const current = new Float64Array(n);
  const schedule = new Int32Array(total);
  for (let step = 0; step < total; step++) {
    let best = 0;
    for (let i = 0; i < n; i++) {
      current[i] += w[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    schedule[step] = best;
  }
  return schedule;
}

class TablePicker implements Picker {
  constructor(
    private readonly endpoints: readonly RoutedEndpoint[],
    private readonly schedule: Int32Array,
    private position: number,
  ) {}

  get size(): number {
    return this.endpoints.length;
  }

  pick(): RoutedEndpoint | undefined {
    const len = this.schedule.length;
    if (len === 0) return undefined;
    const p = this.position;
    this.position = p + 1 === len ? 0 : p + 1;
    return this.endpoints[this.schedule[p]];
  }
}

class EdfPicker implements Picker {
  private readonly heap: Int32Array;
  /** Which pick (1-based) within its current cycle each endpoint makes next. */
  private readonly nth: Float64Array;
  private readonly cycle: Float64Array;
  /** 2 × rank + 1: the endpoint's offset u = (2 rank + 1) / (2n), as an integer numerator. */
  private readonly offset: Float64Array;
  private readonly twoN: number;

  constructor(
    private readonly endpoints: readonly RoutedEndpoint[],
    private readonly w: Float64Array,
    start: number,
  ) {
    const n = endpoints.length;
    this.twoN = 2 * n;
    this.heap = new Int32Array(n);
    this.nth = new Float64Array(n).fill(1);
    this.cycle = new Float64Array(n);
    this.offset = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.heap[i] = i;
      this.offset[i] = 2 * ((i + start) % n) + 1;
    }
    for (let i = (n >>> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get size(): number {
    return this.endpoints.length;
  }

  pick(): RoutedEndpoint | undefined {
    return this.endpoints[this.nextIndex()];
  }

  nextIndex(): number {
    const top = this.heap[0];
    if (this.nth[top] >= this.w[top]) {
      this.nth[top] = 1;
      this.cycle[top] += 1;
    } else {
      this.nth[top] += 1;
    }
    this.siftDown(0);
    return top;
  }

  /** Whether endpoint i's next deadline comes before endpoint j's (ties: lower index). */
  private before(i: number, j: number): boolean {
    const ci = this.cycle[i];
    const cj = this.cycle[j];
    if (ci !== cj) return ci < cj;
    // (k_i - 1 + u_i) / w_i  vs  (k_j - 1 + u_j) / w_j, both scaled by 2n, cross-multiplied.
    const lhs = (this.twoN * (this.nth[i] - 1) + this.offset[i]) * this.w[j];
    const rhs = (this.twoN * (this.nth[j] - 1) + this.offset[j]) * this.w[i];
    return lhs !== rhs ? lhs < rhs : i < j;
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[pos];
    while (true) {
      const left = 2 * pos + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(heap[right], heap[left]) ? right : left;
      if (!this.before(heap[child], item)) break;
      heap[pos] = heap[child];
      pos = child;
    }
    heap[pos] = item;
  }
}
