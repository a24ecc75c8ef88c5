import { InvalidOptionError } from '../base/errors';
import { knownKeys, nonNegativeNumber, optionKeys } from '../base/options';
import { WindowedCounter } from './windowed-counter';

export interface RetryBudgetOptions {
  /** Retries allowed per original call, in [0, 1000]. Default 0.2 (20%). */
  ratio?: number;
  /** Retries allowed per second regardless of traffic (the floor). Default 10. */
  minRetriesPerSecond?: number;
  /** How long a deposit counts, >= 1000 ms. Default 10000 ms. */
  ttlMs?: number;
}

const RETRY_BUDGET_OPTION_KEYS = optionKeys<RetryBudgetOptions>({ ratio: true, minRetriesPerSecond: true, ttlMs: true });

/** Credits are counted in thousandths so that ratios like 0.2 add up exactly. */
const SCALE = 1000;

/**
 * Finagle's retry budget: every original call deposits `ratio` of a retry, every retry withdraws
 * one, and deposits expire after `ttlMs`, so over any window of `ttlMs` the retries stay below
 * `ratio × calls + minRetriesPerSecond × ttlMs / 1000`. The floor lets a quiet client still
 * retry; the ratio keeps a busy client from multiplying the load on a failing service (at most
 * 1 + ratio times the calls). Like Finagle, the floor is a reserve over the window, so its
 * retries may come in a burst.
 *
 * A ring of per-second buckets holds the balance; every operation is O(1) amortised.
 * Withdrawals are negative deposits that expire too: spent retries come back after `ttlMs`.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly ttlMs: number;
  private readonly depositAmount: number;
  private readonly reserve: number;
  private readonly window: WindowedCounter;

  constructor(opts: RetryBudgetOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw new InvalidOptionError('retryBudget', 'must be an object');
    knownKeys('', opts, RETRY_BUDGET_OPTION_KEYS);
    this.ratio = nonNegativeNumber('ratio', opts.ratio, 0.2);
    if (this.ratio > 1000) throw new InvalidOptionError('ratio', 'must be in [0, 1000]');
    this.minRetriesPerSecond = nonNegativeNumber('minRetriesPerSecond', opts.minRetriesPerSecond, 10);
    this.ttlMs = nonNegativeNumber('ttlMs', opts.ttlMs, 10_000);
    if (this.ttlMs < 1000 || this.ttlMs > 3_600_000) throw new InvalidOptionError('ttlMs', 'must be in [1000, 3600000]');
    this.depositAmount = Math.round(this.ratio * SCALE);
    this.reserve = Math.floor(this.minRetriesPerSecond * (this.ttlMs / 1000) * SCALE);
    this.window = new WindowedCounter(this.ttlMs, Math.max(1, Math.round(this.ttlMs / 1000)));
  }

  /** One original (not retried) call was made. */
  deposit(nowMs: number): void {
    if (this.depositAmount > 0) this.window.add(nowMs, this.depositAmount);
  }

  /** Take one retry from the budget; false (and no change) if the budget is spent. */
  tryWithdraw(nowMs: number): boolean {
    if (this.window.sum(nowMs) + this.reserve < SCALE) return false;
    this.window.add(nowMs, -SCALE);
    return true;
  }

  /** Whole retries available now. */
  balance(nowMs: number): number {
    return Math.max(0, Math.floor((this.window.sum(nowMs) + this.reserve) / SCALE));
  }
}
