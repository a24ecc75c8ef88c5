/**
 * The one clock of every bench measurement: CLOCK_MONOTONIC in nanoseconds. process.hrtime.bigint()
 * (libuv uv_hrtime), Java's System.nanoTime() (HotSpot on Linux) and Python's time.monotonic_ns()
 * all read clock_gettime(CLOCK_MONOTONIC), so timestamps taken in different processes on one
 * machine compare directly. checkClock() in candidate.ts verifies it at run time.
 */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export function msBetween(fromNs: bigint, toNs: bigint): number {
  return Number(toNs - fromNs) / 1e6;
}

export { sleep } from '../../integration/support/wait';
