import type { RoutedEndpoint } from '../endpoint';
import { randomIndex } from '../random';
import type { Picker } from './picker';

/**
 * A picker that walks its endpoints in rotation. The start offset is random so that many clients
 * built at the same moment (a membership change seen by all of them) do not all hit the same
 * endpoint first.
 */
export abstract class RotatingPicker implements Picker {
  private next: number;

  constructor(protected readonly endpoints: readonly RoutedEndpoint[], random: () => number) {
    this.next = endpoints.length > 0 ? randomIndex(random, endpoints.length) : 0;
  }

  get size(): number {
    return this.endpoints.length;
  }

  abstract pick(key?: string): RoutedEndpoint | undefined;

  /** This pick's slot of `n` (n > 0); the next pick gets the one after it. */
  protected advance(n: number): number {
    const i = this.next;
    this.next = i + 1 === n ? 0 : i + 1;
    return i;
  }
}
