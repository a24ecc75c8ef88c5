import type { RoutedEndpoint } from '../endpoint';
import { randomIndex } from '../random';
import type { Picker } from './picker';

/**
 * Plain rotation. The start offset is random so that many clients built at the same moment (a
 * membership change seen by all of them) do not all hit the same endpoint first.
 */
export class RoundRobinPicker implements Picker {
  private readonly endpoints: readonly RoutedEndpoint[];
  private next: number;

  constructor(endpoints: readonly RoutedEndpoint[], random: () => number) {
    this.endpoints = endpoints;
    this.next = endpoints.length > 0 ? randomIndex(random, endpoints.length) : 0;
  }

  get size(): number {
    return this.endpoints.length;
  }

  pick(): RoutedEndpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    const i = this.next;
    this.next = i + 1 === n ? 0 : i + 1;
    return this.endpoints[i];
  }
}
