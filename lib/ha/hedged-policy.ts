import { monotonicMs } from '../base/clock';
import { canRetryElsewhere } from '../routing';
import type { HedgePlan } from '../routing';
import { RpcError } from '../transport';
import type { AttemptResult, CallTarget } from './call-pool';
import { asRpcError, callOutcome, cancelledError, noEndpoint } from './call-errors';
import { pickAvoiding } from './balanced-policy';
import { waitForChange } from './call-policy';
import type { PolicyCallOptions, PolicyContext } from './call-policy';

/**
 * Hedged calls (idempotent calls in redundant mode): sends to several members on the plan's
 * schedule; the first answer wins and the others are cancelled. A failed attempt that may go
 * again brings the next one forward, drawing on the retry budget.
 */
export async function callHedged<R, T extends CallTarget>(
  ctx: PolicyContext<T>, method: string, params: unknown, opts: PolicyCallOptions, deadline: number, plan: HedgePlan,
): Promise<AttemptResult<R>> {
  const schedule = plan.start(monotonicMs());
  const used = new Set<string>();
  const controllers: AbortController[] = [];
  const outstanding = new Set<Promise<void>>();
  let winner: AttemptResult<R> | undefined;
  let lastError: RpcError | undefined;
  /** Some attempt failed after it may have run: the caller must not be told "not executed". */
  let failedAfterSend = false;
  let wake: (() => void) | undefined;
  const onAbort = (): void => wake?.();
  // Attempts still out when the call gives up may run yet.
  const mayHaveRun = (): boolean => failedAfterSend || outstanding.size > 0;
  opts.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      const now = monotonicMs();
      /** A hedge is due but every member is used or down: wait for an attempt or the pool, not the schedule. */
      let starved = false;
      if (opts.signal?.aborted) throw cancelledError(mayHaveRun(), opts.signal.reason);
      if (now >= deadline) {
        throw callOutcome(lastError ?? new RpcError('DEADLINE_EXCEEDED', `no answer from "${ctx.service}" before the deadline`), mayHaveRun());
      }
      if (schedule.due(now)) {
        const target = pickAvoiding(ctx.pool, used, opts.key);
        if (target !== undefined && !used.has(target.name)) {
          used.add(target.name);
          schedule.markSent(now);
          const controller = new AbortController();
          controllers.push(controller);
          const p: Promise<void> = ctx.pool.attempt<R>(target, method, params, opts, controller.signal, deadline).then(
            (r) => {
              if (winner === undefined) {
                r.attempts = schedule.sent;
                winner = r;
              }
            },
            (error: unknown) => {
              const e = asRpcError(error);
              if (!e.notExecuted) failedAfterSend = true;
              if (e.code !== 'CANCELLED') lastError = e;
              schedule.onAttemptFailed(monotonicMs(), canRetryElsewhere(e, true) && ctx.budget.tryWithdraw(monotonicMs()));
            },
          ).finally(() => { outstanding.delete(p); wake?.(); });
          outstanding.add(p);
          continue;
        }
        if (outstanding.size === 0) {
          // Nobody to send to yet: wait for the membership or a connection.
          await waitForChange(ctx, schedule.sent, deadline, opts.signal, lastError ?? noEndpoint(ctx.service), mayHaveRun());
          continue;
        }
        starved = true;
      }
      if (winner) return winner;
      if (outstanding.size === 0 && schedule.exhausted) throw callOutcome(lastError ?? noEndpoint(ctx.service), mayHaveRun());
      // Starved, the schedule's next instant is already past (it would spin): the deadline bounds the wait.
      const next = starved ? undefined : schedule.nextAt();
      const waitMs = Math.max(0, Math.min(deadline, next ?? deadline) - monotonicMs());
      await new Promise<void>((resolve) => {
        let unsubscribe: (() => void) | undefined;
        const done = (): void => {
          clearTimeout(timer);
          unsubscribe?.();
          resolve();
        };
        // Node's timers hold 2^31 - 1 ms at most (longer fires at once): a far deadline waits in steps.
        const timer = setTimeout(done, Math.min(waitMs, 0x7fffffff));
        if (starved) unsubscribe = ctx.pool.onChange(done);
        wake = done;
      });
      wake = undefined;
      if (winner) return winner;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    for (const c of controllers) c.abort(); // losers get a cancel frame; the winner's is a no-op
  }
}
