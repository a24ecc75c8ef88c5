import { InvalidOptionError } from './errors';
import { integerInRange, oneOf, positiveNumber } from './options';

export const JITTER_MODES = ['full', 'equal', 'decorrelated', 'none'] as const;
export type JitterMode = (typeof JITTER_MODES)[number];

export interface BackoffOptions {
  /** Delay before the first retry (ceiling of it, with jitter). Default 100 ms. */
  initialMs?: number;
  /** Cap of any delay. Default 10000 ms. */
  maxMs?: number;
  /** Growth per attempt, >= 1. Default 2. */
  factor?: number;
  /**
   * 'full' (default): uniform in [0, ceiling] — AWS's "full jitter", the least contention.
   * 'equal': ceiling/2 + uniform [0, ceiling/2] — never shorter than half.
   * 'decorrelated': uniform in [initial, 3 × previous delay], capped — needs the previous delay.
   * 'none': exactly the ceiling.
   * The ceiling of attempt k (1-based) is min(maxMs, initialMs × factor^(k-1)).
   */
  jitter?: JitterMode;
}

export type ResolvedBackoffOptions = Readonly<Required<BackoffOptions>>;

export function resolveBackoffOptions(opts: BackoffOptions = {}): ResolvedBackoffOptions {
  if (opts === null || typeof opts !== 'object') throw new InvalidOptionError('backoff', 'must be an object');
  const initialMs = positiveNumber('initialMs', opts.initialMs, 100);
  const maxMs = positiveNumber('maxMs', opts.maxMs, Math.max(10_000, initialMs));
  if (maxMs < initialMs) throw new InvalidOptionError('maxMs', `must be >= initialMs (${initialMs})`);
  const factor = positiveNumber('factor', opts.factor, 2);
  if (factor < 1) throw new InvalidOptionError('factor', 'must be >= 1');
  return Object.freeze({ initialMs, maxMs, factor, jitter: oneOf('jitter', opts.jitter, JITTER_MODES, 'full') });
}

/**
 * The delay before retry number `attempt` (1 for the first retry). `previousMs` is the delay
 * used before the previous retry; only 'decorrelated' jitter uses it (default: initialMs).
 * A misbehaving random source is clamped into [0, 1).
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions | ResolvedBackoffOptions = {},
  random: () => number = Math.random,
  previousMs?: number,
): number {
  const o = resolveBackoffOptions(opts);
  integerInRange('attempt', attempt, 1, Number.MAX_SAFE_INTEGER);
  const r = clampUnit(random());
  const ceiling = Math.min(o.maxMs, o.initialMs * o.factor ** (attempt - 1));
  switch (o.jitter) {
    case 'none':
      return ceiling;
    case 'full':
      return r * ceiling;
    case 'equal':
      return ceiling / 2 + (r * ceiling) / 2;
    case 'decorrelated': {
      const prev = previousMs !== undefined && previousMs >= o.initialMs && Number.isFinite(previousMs) ? previousMs : o.initialMs;
      const upper = Math.min(o.maxMs, prev * 3);
      return Math.min(o.maxMs, o.initialMs + r * (upper - o.initialMs));
    }
  }
}

/** The stateful form: one per reconnect loop; `reset()` after a success. */
export class Backoff {
  private readonly options: ResolvedBackoffOptions;
  private attemptCount = 0;
  private previous: number | undefined;

  constructor(
    opts: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.options = resolveBackoffOptions(opts);
  }

  get attempts(): number {
    return this.attemptCount;
  }

  next(): number {
    this.attemptCount++;
    const d = backoffDelay(this.attemptCount, this.options, this.random, this.previous);
    this.previous = d;
    return d;
  }

  reset(): void {
    this.attemptCount = 0;
    this.previous = undefined;
  }
}

function clampUnit(r: number): number {
  return r >= 0 && r < 1 ? r : r >= 1 ? 1 - Number.EPSILON : 0;
}
