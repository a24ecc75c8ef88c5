/** Small waiting helpers for integration tests, benches and the chaos suite: no timed assertions, only bounded waits. */
import { performance } from 'perf_hooks';
import { sleep } from '../harness/cluster-base';

export { sleep };

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15000, pollMs = 25): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(pollMs);
  }
}

/** Rejects naming `what` if `p` has not settled within `ms`. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the first emission of `event` (and its arguments). */
export function once<T extends unknown[]>(emitter: { once(event: string, fn: (...args: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: T) => resolve(args)));
}

let counter = 0;
/** A fresh znode root per test so tests sharing one ZooKeeper never see each other's nodes. */
export function uniqueRoot(prefix = 't'): string {
  counter++;
  return `/${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
