import type { RoutedEndpoint } from '../endpoint';
import { RotatingPicker } from './rotating-picker';

/**
 * nginx `least_conn`: the endpoint with the fewest calls in flight relative to its weight
 * (`outstanding / weight`, compared by cross-multiplication), ties broken round-robin by a
 * rotating scan start so equally idle endpoints share the load.
 *
 * This is an O(n) scan: `outstanding` changes outside the picker on every call start and end, so
 * no index over it can stay valid without hooking every increment. It is the right choice for
 * the small groups this balancer is meant for (a service group of a handful to a few dozen
 * members: a 30-endpoint scan costs well under a microsecond, see bench/pickers.ts). For large
 * groups use `p2c`, which gets most of the benefit in O(1) (Mitzenmacher's power of two choices).
 */
export class LeastOutstandingPicker extends RotatingPicker {
  constructor(
    endpoints: readonly RoutedEndpoint[],
    private readonly weights: Float64Array,
    random: () => number,
  ) {
    super(endpoints, random);
  }

  pick(): RoutedEndpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    const start = this.advance(n);
    let best = start;
    let bestLoad = this.endpoints[start].outstanding;
    let bestWeight = this.weights[start];
    let i = start;
    for (let step = 1; step < n; step++) {
      i = i + 1 === n ? 0 : i + 1;
      const load = this.endpoints[i].outstanding;
      const weight = this.weights[i];
      if (load * bestWeight < bestLoad * weight) {
        best = i;
        bestLoad = load;
        bestWeight = weight;
      }
    }
    return this.endpoints[best];
  }
}
