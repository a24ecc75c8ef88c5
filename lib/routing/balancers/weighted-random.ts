import type { RoutedEndpoint } from '../endpoint';
import type { Picker } from './picker';

/**
 * Random choice proportional to weight: prefix sums built once, then one random number and a
 * binary search per pick — O(log n), where the usual linear subtract-until-negative walk is O(n).
 */
export class WeightedRandomPicker implements Picker {
  private readonly prefix: Float64Array;
  private readonly total: number;

  constructor(
    private readonly endpoints: readonly RoutedEndpoint[],
    weights: Float64Array,
    private readonly random: () => number,
  ) {
    this.prefix = new Float64Array(endpoints.length);
    // Summed relative to the largest weight: sums of huge weights (1e308 each) overflowed to
    // Infinity and sent every pick to the last endpoint. Only the ratios matter.
    let max = 0;
    for (let i = 0; i < endpoints.length; i++) if (weights[i]! > max) max = weights[i]!;
    const scale = max > 0 ? 1 / max : 1;
    let sum = 0;
    for (let i = 0; i < endpoints.length; i++) {
      sum += weights[i]! * scale;
      this.prefix[i] = sum;
    }
    this.total = sum;
  }

  get size(): number {
    return this.endpoints.length;
  }

  pick(): RoutedEndpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    const target = this.random() * this.total;
    // First index whose prefix sum exceeds target.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.prefix[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    return this.endpoints[lo];
  }
}
