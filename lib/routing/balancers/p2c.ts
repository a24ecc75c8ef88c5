import type { RoutedEndpoint } from '../endpoint';
import { decayedLatencyUs } from '../endpoint';
import type { Picker } from './picker';

/**
 * Finagle's cost for an endpoint that has calls in flight but no latency sample yet: large, so a
 * new endpoint gets one call and must answer before it gets more (it might be slow, or dead).
 */
const UNPROBED_PENALTY = 2 ** 47;

/**
 * Power of two choices over peak-EWMA load (Finagle's `P2CPeakEwma`): draw two distinct
 * endpoints at random and take the cheaper, cost = ewmaLatency * (outstanding + 1), with the
 * latency decayed to "now" (see `decayedLatencyUs`). O(1) per pick; with two random candidates
 * the worst queue stays close to the best (Mitzenmacher), without the herding that a global
 * "least loaded" causes when many clients act on the same stale view.
 *
 * "Now" is the latest latency-sample time the picker has seen on any endpoint (starting from the
 * newest at build time), not a clock read: every clock call returns a freshly boxed number, which
 * would make each pick allocate, and this way the decay runs on exactly the clock the client
 * feeds to `recordLatency`. Time then advances with replies: an endpoint that stopped getting
 * traffic decays as soon as other endpoints report, and when nobody reports there is nothing
 * to prefer anyway.
 */
export class P2cPicker implements Picker {
  /** Latest sample time seen, in a typed cell so that updating it never allocates. */
  private readonly clock = new Float64Array(1);

  constructor(
    private readonly endpoints: readonly RoutedEndpoint[],
    private readonly random: () => number,
    private readonly decayMs: number,
  ) {
    let latest = Number.NEGATIVE_INFINITY;
    for (const ep of endpoints) if (ep.latencyStampMs > latest) latest = ep.latencyStampMs;
    this.clock[0] = latest;
  }

  get size(): number {
    return this.endpoints.length;
  }

  pick(): RoutedEndpoint | undefined {
    const n = this.endpoints.length;
    if (n <= 1) return n === 0 ? undefined : this.endpoints[0];
    let a = Math.floor(this.random() * n);
    let b = Math.floor(this.random() * (n - 1));
    if (!(a >= 0 && a < n)) a = 0;
    if (!(b >= 0 && b < n - 1)) b = 0;
    if (b >= a) b++;
    const epA = this.endpoints[a];
    const epB = this.endpoints[b];
    if (epA.latencyStampMs > this.clock[0]) this.clock[0] = epA.latencyStampMs;
    if (epB.latencyStampMs > this.clock[0]) this.clock[0] = epB.latencyStampMs;
    const nowMs = this.clock[0];
    return this.cost(epB, nowMs) < this.cost(epA, nowMs) ? epB : epA;
  }

  private cost(ep: RoutedEndpoint, nowMs: number): number {
    const latency = decayedLatencyUs(ep, nowMs, this.decayMs);
    const outstanding = ep.outstanding > 0 ? ep.outstanding : 0;
    if (latency === 0) return outstanding === 0 ? 0 : UNPROBED_PENALTY + outstanding;
    return latency * (outstanding + 1);
  }
}
