import { fraction, positiveNumber } from '../options';
import { InvalidOptionError } from '../errors';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Share of the delay randomised: 0.2 means the delay is spread over ±20%. */
  jitter?: number;
}

/** Exponential backoff with jitter, so that many clients do not reconnect in lockstep. */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  private attempt = 0;

  constructor(opts: BackoffOptions = {}, private readonly random: () => number = Math.random) {
    this.initialMs = positiveNumber('reconnect.initialMs', opts.initialMs, 100);
    this.maxMs = positiveNumber('reconnect.maxMs', opts.maxMs, 10_000);
    this.factor = positiveNumber('reconnect.factor', opts.factor, 2);
    if (this.factor < 1) throw new InvalidOptionError('reconnect.factor', `must be >= 1, got ${this.factor}`);
    // 0 turns jitter off; otherwise a share strictly between 0 and 1.
    this.jitter = opts.jitter === 0 ? 0 : fraction('reconnect.jitter', opts.jitter, 0.2);
    if (this.maxMs < this.initialMs) throw new InvalidOptionError('reconnect.maxMs', `must be >= reconnect.initialMs (${this.initialMs})`);
  }

  /** The delay before the next attempt; each call grows the base delay by `factor` up to `maxMs`. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * Math.pow(this.factor, this.attempt));
    this.attempt++;
    const spread = base * this.jitter;
    return Math.max(0, Math.round(base - spread + this.random() * 2 * spread));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
