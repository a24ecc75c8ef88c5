import type { RpcError } from '../transport';
import type { AttemptResult, CallPool, CallTarget } from './call-pool';
import { asRpcError, callOutcome, noEndpoint } from './call-errors';
import { mayRetry, waitForChange } from './call-policy';
import type { PolicyCallOptions, PolicyContext } from './call-policy';

/**
 * Redundant-mode calls: the balancer picks a member; a failed attempt that may go again goes to
 * a member not yet tried; when every member was tried (or none serves), the call waits for a
 * change (up to its deadline) and starts over.
 */
export async function callBalanced<R, T extends CallTarget>(
  ctx: PolicyContext<T>, method: string, params: unknown, opts: PolicyCallOptions, deadline: number,
): Promise<AttemptResult<R>> {
  const idempotent = opts.idempotent === true;
  // Made only when an attempt fails: the common call allocates nothing here.
  let tried: Set<string> | undefined;
  let lastError: RpcError | undefined;
  let mayHaveRun = false;
  // Refusals that say "not executed" are retried for free, but only over one round of the
  // members: a service where every member refuses (a handler throwing UNAVAILABLE, say) would
  // otherwise see each call 60–80 times before its deadline. Past that, the retry budget pays.
  let freeRetries = 0;
  for (let attempt = 0; ; attempt++) {
    const target = pickAvoiding(ctx.pool, tried, opts.key);
    if (target === undefined) {
      const refused = ctx.pool.refusedEverywhere();
      if (refused) throw callOutcome(refused, mayHaveRun);
      await waitForChange(ctx, attempt, deadline, opts.signal, lastError ?? noEndpoint(ctx.service), mayHaveRun);
      tried?.clear();
      continue;
    }
    try {
      const r = await ctx.pool.attempt<R>(target, method, params, opts, opts.signal, deadline);
      r.attempts = attempt + 1;
      return r;
    } catch (error) {
      const e = asRpcError(error);
      if (!e.notExecuted) mayHaveRun = true;
      lastError = e;
      const free = freeRetries < Math.max(1, ctx.pool.size);
      if (!mayRetry(ctx, e, idempotent, free)) throw callOutcome(e, mayHaveRun);
      if (free) freeRetries++;
      (tried ??= new Set()).add(target.name);
      if (tried.size >= ctx.pool.size) await waitForChange(ctx, attempt, deadline, opts.signal, e, mayHaveRun);
    }
  }
}

/** The balancer's pick, skipping members in `avoid` (a hashed key always maps to the same member). */
export function pickAvoiding<T extends CallTarget>(pool: CallPool<T>, avoid: ReadonlySet<string> | undefined, key: string | undefined): T | undefined {
  if (avoid === undefined || avoid.size === 0) return pool.pick(key);
  for (let i = 0; i < Math.max(1, pool.size); i++) {
    const ep = pool.pick(key, avoid);
    if (ep === undefined) return undefined;
    if (!avoid.has(ep.name)) return ep;
    if (key !== undefined) break;
  }
  return undefined;
}
