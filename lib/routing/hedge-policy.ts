import { InvalidOptionError } from '../base/errors';
import { integerInRange, knownKeys, nonNegativeNumber, optionKeys } from '../base/options';

/** Attempts per call can never exceed this (gRPC caps at 5; forking to a whole group needs more). */
export const MAX_HEDGE_ATTEMPTS = 32;

export interface HedgeOptions {
  /**
   * Delay before each hedge, measured from the send of the attempt before it. The original
   * attempt always goes at once, so `[50, 100]` sends hedges 50 ms and 150 ms after the start
   * and `[0, 0]` sends three attempts at once ("fork": first answer wins).
   */
  delaysMs: readonly number[];
  /** Total attempts including the original; default and upper bound 1 + delaysMs.length. */
  maxAttempts?: number;
}

const HEDGE_OPTION_KEYS = optionKeys<HedgeOptions>({ delaysMs: true, maxAttempts: true });

/**
 * A validated hedging schedule. Hedging is for idempotent calls only (the caller checks); the
 * losing attempts are cancelled by the caller once one answers.
 */
export class HedgePlan {
  /** Total attempts, original included. */
  readonly attempts: number;
  /** Send time of each attempt relative to the start of the call (offsetsMs[0] = 0). */
  readonly offsetsMs: readonly number[];
  private readonly delays: readonly number[];

  constructor(opts: HedgeOptions) {
    if (opts === null || typeof opts !== 'object') throw new InvalidOptionError('hedge', 'must be an object');
    knownKeys('', opts, HEDGE_OPTION_KEYS);
    if (!Array.isArray(opts.delaysMs)) throw new InvalidOptionError('delaysMs', 'must be an array of delays in ms');
    if (opts.delaysMs.length > MAX_HEDGE_ATTEMPTS - 1) {
      throw new InvalidOptionError('delaysMs', `at most ${MAX_HEDGE_ATTEMPTS - 1} hedges`);
    }
    const delays = opts.delaysMs.map((d, i) => nonNegativeNumber(`delaysMs[${i}]`, d));
    this.attempts = integerInRange('maxAttempts', opts.maxAttempts, 1, 1 + delays.length, 1 + delays.length);
    this.delays = Object.freeze(delays.slice(0, this.attempts - 1));
    const offsets = [0];
    for (const d of this.delays) offsets.push(offsets[offsets.length - 1] + d);
    this.offsetsMs = Object.freeze(offsets);
  }

  /** `n` attempts all at once: send to every member, first answer wins. */
  static forkAll(n: number): HedgePlan {
    const count = integerInRange('attempts', n, 1, MAX_HEDGE_ATTEMPTS);
    return new HedgePlan({ delaysMs: new Array<number>(count - 1).fill(0) });
  }

  /** Starts the schedule of one call. */
  start(startMs: number): HedgeSchedule {
    return new HedgeSchedule(this.delays, this.attempts, startMs);
  }
}

/**
 * The schedule of one hedged call: when the next attempt is due. As in gRPC, an attempt that
 * fails with a retry-safe error sends the next hedge at once instead of waiting for its delay;
 * a fatal error ends the call (the caller then cancels the attempts still out).
 */
export class HedgeSchedule {
  private sentCount = 0;
  private lastSentAt: number;
  private hurryAt: number | undefined;
  private stopped = false;

  constructor(
    private readonly delays: readonly number[],
    private readonly maxAttempts: number,
    startMs: number,
  ) {
    this.lastSentAt = startMs;
  }

  get sent(): number {
    return this.sentCount;
  }

  /** True once every attempt was sent or the call was stopped. */
  get exhausted(): boolean {
    return this.stopped || this.sentCount >= this.maxAttempts;
  }

  /** When the next attempt is due (ms, may be in the past), or undefined if none remains. */
  nextAt(): number | undefined {
    if (this.exhausted) return undefined;
    if (this.sentCount === 0) return this.lastSentAt;
    const scheduled = this.lastSentAt + this.delays[this.sentCount - 1];
    return this.hurryAt !== undefined && this.hurryAt < scheduled ? this.hurryAt : scheduled;
  }

  /** Whether an attempt should be sent now. */
  due(nowMs: number): boolean {
    const at = this.nextAt();
    return at !== undefined && nowMs >= at;
  }

  /** Records that the next attempt was sent at `nowMs`. */
  markSent(nowMs: number): void {
    if (this.exhausted) return;
    this.sentCount++;
    this.lastSentAt = nowMs;
    this.hurryAt = undefined;
  }

  /**
   * An attempt failed. `retrySafe` (see canRetryElsewhere) brings the next hedge forward to now;
   * otherwise no further attempt is sent.
   */
  onAttemptFailed(nowMs: number, retrySafe: boolean): void {
    if (!retrySafe) this.stopped = true;
    else if (!this.exhausted) this.hurryAt = nowMs;
  }
}
