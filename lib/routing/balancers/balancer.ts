import type { RoutedEndpoint } from '../endpoint';
import { DEFAULT_LATENCY_DECAY_MS, optionalFunction } from '../endpoint';
import { integerInRange, oneOf, positiveNumber } from '../../base/options';
import { ConsistentHashPicker, DEFAULT_HASH_REPLICAS } from './consistent-hash';
import { LeastOutstandingPicker } from './least-outstanding';
import { P2cPicker } from './p2c';
import type { Picker } from './picker';
import { EMPTY_PICKER, selectRoutable } from './picker';
import { seededRandom } from '../random';
import { RandomPicker } from './random-picker';
import { RoundRobinPicker } from './round-robin';
import { createSmoothWeightedPicker } from './smooth-weighted-round-robin';
import { WeightedRandomPicker } from './weighted-random';

export const BALANCER_NAMES = [
  'round-robin',
  'random',
  'weighted-round-robin',
  'weighted-random',
  'least-outstanding',
  'p2c',
  'consistent-hash',
] as const;

export type BalancerName = (typeof BALANCER_NAMES)[number];

export interface Balancer {
  readonly name: BalancerName;
  /** Builds an immutable picker over these endpoints (the list is copied). */
  build(endpoints: readonly RoutedEndpoint[]): Picker;
}

export interface BalancerOptions {
  /**
   * Source of randomness in [0, 1). Default: a mulberry32 generator seeded from Math.random —
   * not Math.random itself, whose result gets boxed (allocated) when called through a stored
   * reference. Inject `seededRandom(n)` in tests.
   */
  random?: () => number;
  /** consistent-hash: virtual nodes per endpoint, default 160. */
  hashReplicas?: number;
  /** p2c: decay window of the latency estimate, default 10000 ms (as passed to recordLatency). */
  latencyDecayMs?: number;
}

export function createBalancer(name: BalancerName, options: BalancerOptions = {}): Balancer {
  const balancerName = oneOf('balancer', name, BALANCER_NAMES);
  const random = optionalFunction<() => number>('random', options.random) ?? seededRandom(Math.floor(Math.random() * 2 ** 32));
  const hashReplicas = integerInRange('hashReplicas', options.hashReplicas, 1, 10_000, DEFAULT_HASH_REPLICAS);
  const decayMs = positiveNumber('latencyDecayMs', options.latencyDecayMs, DEFAULT_LATENCY_DECAY_MS);

  const build = (all: readonly RoutedEndpoint[]): Picker => {
    if (!Array.isArray(all) || all.length === 0) return EMPTY_PICKER;
    const { endpoints, weights } = selectRoutable(all);
    switch (balancerName) {
      case 'round-robin':
        return new RoundRobinPicker(endpoints, random);
      case 'random':
        return new RandomPicker(endpoints, random);
      case 'weighted-round-robin':
        return createSmoothWeightedPicker(endpoints, weights, random);
      case 'weighted-random':
        return new WeightedRandomPicker(endpoints, weights, random);
      case 'least-outstanding':
        return new LeastOutstandingPicker(endpoints, weights, random);
      case 'p2c':
        return new P2cPicker(endpoints, random, decayMs);
      case 'consistent-hash':
        return new ConsistentHashPicker(endpoints, hashReplicas, random);
    }
  };
  return Object.freeze({ name: balancerName, build });
}
