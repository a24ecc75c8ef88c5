import { monotonicMs } from '../base/clock';
import type { FaultKind } from '../base/fault-report';
import { backoffDelay, canRetryElsewhere } from '../routing';
import type { ResolvedBackoffOptions, RetryBudget } from '../routing';
import type { RpcError } from '../transport';
import type { CallPool, CallTarget } from './call-pool';
import { cancelledError, closedError, deadlineError } from './call-errors';

/** What every call policy shares: the pool, the retry budget, the pause between attempts, fault reports. */
export interface PolicyContext<T extends CallTarget = CallTarget> {
  readonly service: string;
  readonly pool: CallPool<T>;
  readonly budget: RetryBudget;
  readonly backoff: ResolvedBackoffOptions;
  readonly random: () => number;
  readonly faults: { report(kind: FaultKind, fields?: { member?: string; durationMs?: number; detail?: Record<string, unknown> }): unknown };
  /** True once the client is closed: waiting calls give up. */
  readonly closed: () => boolean;
}

/** The per-call options the policies read. */
export interface PolicyCallOptions {
  readonly idempotent?: boolean;
  readonly signal?: AbortSignal;
  readonly key?: string;
  readonly meta?: Record<string, unknown>;
}

/**
 * Retry safety and budget (routing/retry-policy.ts): a failed attempt may go again when its code
 * and `notExecuted` allow it; retries of calls that may have run, and of OVERLOADED, draw on the
 * budget. NOT_PRIMARY and never-sent retries cost nothing while `free` (the caller's allowance).
 */
export function mayRetry(ctx: PolicyContext, e: RpcError, idempotent: boolean, free = true): boolean {
  if (!canRetryElsewhere(e, idempotent)) return false;
  if (free && e.notExecuted && e.code !== 'OVERLOADED') return true;
  return ctx.budget.tryWithdraw(monotonicMs());
}

/**
 * Waits for the membership, a connection or health to change — or a jittered backoff, whichever
 * is first — without passing the deadline; rejects at the deadline (DEADLINE_EXCEEDED), on the
 * caller's abort (CANCELLED) or when the client closes, saying truthfully whether the call may
 * have run (`mayHaveRun`: some earlier attempt of it may have executed).
 */
export function waitForChange(
  ctx: PolicyContext, attempt: number, deadline: number, signal: AbortSignal | undefined, lastError: RpcError, mayHaveRun: boolean,
): Promise<void> {
  const now = monotonicMs();
  if (signal?.aborted) return Promise.reject(cancelledError(mayHaveRun, signal.reason));
  if (ctx.closed()) return Promise.reject(closedError(ctx.service, mayHaveRun));
  if (now >= deadline) return Promise.reject(deadlineError(lastError, ctx.service, mayHaveRun));
  const pause = Math.min(backoffDelay(attempt + 1, ctx.backoff, ctx.random), deadline - now);
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    };
    const timer = setTimeout(() => { done(); resolve(); }, pause);
    // A change ends the wait early, but never sooner than 1 ms: pool events can come in bursts.
    const unsubscribe = ctx.pool.onChange(() => { done(); setTimeout(resolve, 1); });
    const onAbort = (): void => { done(); reject(cancelledError(mayHaveRun, signal?.reason)); };
    signal?.addEventListener('abort', onAbort);
  });
}
