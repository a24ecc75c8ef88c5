import { monotonicMs } from '../base/clock';
import type { MembershipSnapshot } from '../coordination';
import type { AttemptResult, CallTarget } from './call-pool';
import { asRpcError, callOutcome, fenced, noPrimary } from './call-errors';
import { mayRetry, waitForChange } from './call-policy';
import type { PolicyCallOptions, PolicyContext } from './call-policy';
import type { EpochFence, GenerationChange } from './epoch-fence';
import type { RpcError } from '../transport';

/**
 * Primary/backup calls: every call goes to the primary the client's view acknowledges. With no
 * primary reachable, the call waits (up to its deadline) for the next one instead of failing. A
 * NOT_PRIMARY answer naming the primary is followed at once — once in a row, so that two members
 * that both say "not me" during an election are not ping-ponged at full speed. Every answer
 * passes the epoch fence (epoch-fence.ts).
 */
export class PrimaryPolicy<T extends CallTarget> {
  /** The member the view names as primary. */
  private primaryName: string | undefined;
  /** The member a NOT_PRIMARY answer named, while it is reachable, answers, and the view's primary stays the same. */
  private hint: string | undefined;
  private unavailableSince: number | undefined;
  /** The last gap without a primary, until a verified answer closes it (a failover's duration). */
  private gapMs: number | undefined;
  /** The epoch of the last answer from the verified primary. */
  private lastEpoch: number | undefined;
  /** Counts changes of the view's primary: a new primary restarts the backoff of waiting calls. */
  private primaryChanges = 0;

  constructor(private readonly ctx: PolicyContext<T>, readonly fence: EpochFence) {}

  /** Takes in a snapshot of the client's view (the primary to route to; the fence). */
  observe(snapshot: MembershipSnapshot): GenerationChange | undefined {
    if (snapshot.primary?.name !== this.primaryName) {
      this.primaryChanges++;
      // The view names another primary: what a NOT_PRIMARY said before is history. Not while it
      // names none (a handover: the old primary gone, the successor's lease not seen yet) — the
      // hint to the successor is what keeps calls going then.
      if (snapshot.primary !== undefined && snapshot.primary.name !== this.hint) this.hint = undefined;
    }
    this.primaryName = snapshot.primary?.name;
    const change = this.fence.observe(snapshot);
    if (change) this.lastEpoch = undefined; // epochs of another generation do not compare
    return change;
  }

  async call<R>(method: string, params: unknown, opts: PolicyCallOptions, deadline: number): Promise<AttemptResult<R>> {
    const ctx = this.ctx;
    const idempotent = opts.idempotent === true;
    let lastError: RpcError | undefined;
    let followedHint = false;
    let mayHaveRun = false;
    // The backoff counts attempts since the view last named a new primary: a call that waited
    // through a failover retries the new primary within a few ms (it may answer NOT_PRIMARY for
    // the moment it takes to read its own takeover's answer), not after a grown backoff.
    let since = { changes: this.primaryChanges, attempt: 0 };
    for (let attempt = 0; ; attempt++) {
      // Asked right before each pause: the view may have changed while the attempt was out.
      const backoffAttempt = (): number => {
        if (since.changes !== this.primaryChanges) since = { changes: this.primaryChanges, attempt };
        return attempt - since.attempt;
      };
      const target = this.target();
      if (target === undefined || !target.up) {
        // A refusal for good (wrong token, incompatible protocol) will not heal by waiting.
        if (target?.refused) throw callOutcome(target.refused, mayHaveRun);
        this.markUnavailable();
        await waitForChange(ctx, backoffAttempt(), deadline, opts.signal, lastError ?? noPrimary(ctx.service), mayHaveRun);
        continue;
      }
      let e: RpcError;
      try {
        const r = await ctx.pool.attempt<R>(target, method, params, opts, opts.signal, deadline);
        const epoch = r.epoch;
        if (epoch === undefined || this.fence.admits(epoch)) {
          this.hint = undefined;
          this.noteSuccess(epoch);
          r.attempts = attempt + 1;
          return r;
        }
        ctx.faults.report('stale-epoch', { member: r.member, detail: { epoch, fence: this.fence.epoch, method } });
        e = fenced(epoch, this.fence.epoch);
      } catch (error) {
        e = asRpcError(error);
      }
      if (!e.notExecuted) mayHaveRun = true;
      lastError = e;
      // A hint is followed while it works: the member it named failing in any way (silent, overloaded,
      // fenced, "not me" in turn) ends it for every call, not only this one.
      if (this.hint === target.name) this.hint = undefined;
      if (e.code === 'NOT_PRIMARY') {
        this.markUnavailable();
        // A successor hint names a member that does not serve yet: should it be frozen or dead, a call
        // sent there ends "outcome unknown". Only calls that may be repeated follow it; others wait
        // for the view (a handover's successor is in it within a few ZooKeeper round trips).
        const followable = idempotent || !isSuccessorHint(e.data);
        const hinted = e.leaderHint === undefined || !followable ? undefined : ctx.pool.byUrl(e.leaderHint);
        this.hint = hinted !== undefined && hinted !== target ? hinted.name : undefined;
        if (this.hint !== undefined && !followedHint) {
          followedHint = true;
          continue;
        }
        followedHint = false;
      } else if (!mayRetry(ctx, e, idempotent)) {
        throw callOutcome(e, mayHaveRun);
      } else {
        this.markUnavailable();
      }
      await waitForChange(ctx, backoffAttempt(), deadline, opts.signal, e, mayHaveRun);
    }
  }

  /** The hinted member (after NOT_PRIMARY) while reachable, else the view's primary. */
  private target(): T | undefined {
    if (this.hint !== undefined) {
      const hinted = this.ctx.pool.get(this.hint);
      if (hinted !== undefined && hinted.up) return hinted;
      this.hint = undefined;
    }
    return this.primaryName === undefined ? undefined : this.ctx.pool.get(this.primaryName);
  }

  private markUnavailable(): void {
    this.unavailableSince ??= monotonicMs();
  }

  /**
   * A call succeeded. An answer from the verified primary (its epoch is the fence) at a higher
   * epoch than the last such answer is a failover, reported with the gap calls saw before it.
   * Other epochs (a hinted member the view has not acknowledged yet, a poisoned number) are not
   * compared: one answer with epoch 2^52 must not silence every later failover report.
   */
  private noteSuccess(epoch: number | undefined): void {
    const since = this.unavailableSince;
    if (since !== undefined) {
      this.unavailableSince = undefined;
      this.gapMs = monotonicMs() - since;
    }
    if (epoch === undefined || epoch !== this.fence.epoch) return;
    if (this.lastEpoch !== undefined && epoch > this.lastEpoch) {
      this.ctx.faults.report('failover', { durationMs: this.gapMs, detail: { fromEpoch: this.lastEpoch, toEpoch: epoch } });
    }
    this.lastEpoch = epoch;
    this.gapMs = undefined;
  }
}

/** The data of a NOT_PRIMARY naming a successor (call-admission.ts SUCCESSOR_HINT); untrusted input, read defensively. */
function isSuccessorHint(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { successor?: unknown }).successor === true;
}
