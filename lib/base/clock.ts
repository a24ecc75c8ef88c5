import { performance } from 'perf_hooks';

/**
 * Monotonic milliseconds (CLOCK_MONOTONIC through performance.now()). Every lease, timeout and
 * duration in zk-ha is measured on this clock: wall time can jump, this one cannot.
 */
export function monotonicMs(): number {
  return performance.now();
}

/**
 * Wall-clock milliseconds since the epoch. Only for what humans read (report times) and for
 * converting an absolute deadline a caller handed us into a remaining time, once, at the edge;
 * never for a timer, a timeout or a lease.
 */
export function wallClockMs(): number {
  return Date.now();
}
