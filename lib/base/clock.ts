import { performance } from 'perf_hooks';

/**
 * Monotonic milliseconds (CLOCK_MONOTONIC through performance.now()). Every lease, timeout and
 * duration in zk-ha is measured on this clock: wall time can jump, this one cannot.
 */
export function monotonicMs(): number {
  return performance.now();
}
