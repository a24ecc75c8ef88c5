import { InvalidOptionError } from '../base/errors';
import { nonEmptyString, nonNegativeNumber } from '../base/options';

/**
 * The mutable per-endpoint statistics shared by the balancers and the client. One object per
 * endpoint, owned by the client: it bumps `outstanding` around each call and feeds
 * `recordLatency()`. Pickers read `outstanding` and the latency live, but snapshot `weight` when
 * they are built (a weight change builds a new picker, like a membership change).
 */
export interface RoutedEndpoint {
  readonly id: string;
  readonly url: string;
  /** >= 0; 0 means drained: no new traffic while any endpoint with a positive weight exists. */
  weight: number;
  zone?: string;
  /** Calls in flight on this endpoint (the client increments and decrements it). */
  outstanding: number;
  /** Peak-EWMA latency in microseconds as of `latencyStampMs` (0 = no sample yet). */
  ewmaLatencyUs: number;
  /** When `ewmaLatencyUs` was last updated, on the caller's millisecond clock. */
  latencyStampMs: number;
}

/** Finagle's default decay window for its peak-EWMA load metric. */
export const DEFAULT_LATENCY_DECAY_MS = 10_000;

export function createEndpoint(id: string, url: string, weight = 1, zone?: string): RoutedEndpoint {
  const ep: RoutedEndpoint = {
    id: nonEmptyString('id', id),
    url: nonEmptyString('url', url),
    weight: nonNegativeNumber('weight', weight),
    outstanding: 0,
    ewmaLatencyUs: 0,
    latencyStampMs: Number.NEGATIVE_INFINITY,
  };
  if (zone !== undefined) ep.zone = nonEmptyString('zone', zone);
  return ep;
}

/**
 * Feeds one latency sample into the endpoint's **peak-EWMA** (Finagle's `PeakEwma`): a sample
 * above the current value replaces it at once (react to a slowdown immediately), a lower one is
 * blended in with a weight that grows with the time since the previous sample
 * (`w = exp(-elapsed / decayMs)`), so a burst of samples does not outweigh a quiet period.
 * Bad samples (negative, NaN, infinite) are ignored; a clock going backwards counts as no time.
 */
export function recordLatency(ep: RoutedEndpoint, latencyUs: number, nowMs: number, decayMs = DEFAULT_LATENCY_DECAY_MS): void {
  if (!(latencyUs >= 0) || latencyUs === Number.POSITIVE_INFINITY || !Number.isFinite(nowMs)) return;
  const current = ep.ewmaLatencyUs;
  if (latencyUs >= current) {
    ep.ewmaLatencyUs = latencyUs;
  } else {
    const w = decayWeight(ep, nowMs, decayMs);
    ep.ewmaLatencyUs = current * w + latencyUs * (1 - w);
  }
  if (nowMs > ep.latencyStampMs) ep.latencyStampMs = nowMs;
}

/**
 * The latency estimate at `nowMs` without a new sample: it decays towards 0 while no reply
 * arrives (Finagle observes a 0 sample on every read). Without this, an endpoint that was once
 * slow would keep losing every p2c comparison, get no traffic, and never be re-measured.
 * `nowMs` must come from the clock fed to recordLatency (p2c uses the newest sample time).
 */
export function decayedLatencyUs(ep: RoutedEndpoint, nowMs: number, decayMs = DEFAULT_LATENCY_DECAY_MS): number {
  const v = ep.ewmaLatencyUs;
  return v === 0 ? 0 : v * decayWeight(ep, nowMs, decayMs);
}

function decayWeight(ep: RoutedEndpoint, nowMs: number, decayMs: number): number {
  const elapsed = nowMs - ep.latencyStampMs;
  if (!(elapsed > 0)) return 1;
  return Math.exp(-elapsed / decayMs);
}

/** Weight as a balancer uses it: anything not a finite number >= 0 counts as drained. */
export function usableWeight(ep: RoutedEndpoint): number {
  const w = ep.weight;
  return typeof w === 'number' && w > 0 && Number.isFinite(w) ? w : 0;
}

/** The option if it is a function, undefined if absent; throws InvalidOptionError otherwise. */
export function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new InvalidOptionError(name, `must be a function, got ${typeof value}`);
  return value as F;
}
