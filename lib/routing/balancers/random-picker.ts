import type { RoutedEndpoint } from '../endpoint';
import { randomIndex } from '../random';
import type { Picker } from './picker';

/** Uniform random choice. */
export class RandomPicker implements Picker {
  constructor(
    private readonly endpoints: readonly RoutedEndpoint[],
    private readonly random: () => number,
  ) {}

  get size(): number {
    return this.endpoints.length;
  }

  pick(): RoutedEndpoint | undefined {
    const n = this.endpoints.length;
    return n === 0 ? undefined : this.endpoints[randomIndex(this.random, n)];
  }
}
