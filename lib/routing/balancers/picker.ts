import type { RoutedEndpoint } from '../endpoint';
import { usableWeight } from '../endpoint';

/**
 * A picker is built once from an endpoint list and never sees that list change: a membership,
 * weight or health change builds a new one. `pick()` is O(1) or O(log n) (least-outstanding:
 * O(n), see there) and allocates nothing. It returns undefined only when it has no endpoints.
 */
export interface Picker {
  pick(key?: string): RoutedEndpoint | undefined;
  readonly size: number;
}

/** A picker with no endpoints. */
export const EMPTY_PICKER: Picker = Object.freeze({ size: 0, pick: () => undefined });

/**
 * The endpoints a balancer routes to and the weights it uses: drained endpoints (weight 0, or a
 * weight that is not a finite number >= 0) are left out — unless every endpoint is drained, in
 * which case all of them are kept with equal weights (availability over intent, as Dubbo does
 * when the total weight is 0: draining every member must not turn into an outage).
 */
export interface Routable {
  readonly endpoints: readonly RoutedEndpoint[];
  readonly weights: Float64Array;
}

export function selectRoutable(all: readonly RoutedEndpoint[]): Routable {
  const endpoints: RoutedEndpoint[] = [];
  const weights = new Float64Array(all.length);
  for (let i = 0; i < all.length; i++) {
    const ep = all[i];
    const w = usableWeight(ep);
    if (w > 0) {
      weights[endpoints.length] = w;
      endpoints.push(ep);
    }
  }
  if (endpoints.length === 0) return { endpoints: all.slice(), weights: weights.fill(1) };
  return { endpoints, weights: weights.subarray(0, endpoints.length) };
}
