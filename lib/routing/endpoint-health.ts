import { InvalidOptionError } from '../base/errors';
import { integerInRange, knownKeys, nonNegativeNumber, optionKeys, positiveNumber } from '../base/options';
import { optionalFunction } from './endpoint';
import { WindowedCounter } from './windowed-counter';

export interface HealthOptions {
  /** Consecutive failures that eject an endpoint (Envoy `consecutive_5xx`). Default 5. */
  consecutiveFailures?: number;
  /** Calls in the window before the success rate is judged. Default 20. */
  successRateMinRequests?: number;
  /** Eject when successes / calls in the window falls below this; 0 disables. Default 0.5. */
  successRateThreshold?: number;
  /** Sliding window of the success rate. Default 10000 ms. */
  windowMs?: number;
  /** First ejection time; each further ejection doubles it. Default 1000 ms. */
  baseEjectionMs?: number;
  /** Cap of the ejection time. Default 30000 ms. */
  maxEjectionMs?: number;
  /** An ejection time is shortened by a random share up to this, in [0, 1). Default 0.2. */
  jitter?: number;
  /** Never let outlier ejection take more than this percentage of the endpoints out. Default 50. */
  maxEjectedPercent?: number;
  /** A probe with no outcome after this long frees the probe slot. Default 10000 ms. */
  probeTimeoutMs?: number;
  /** Healthy this long after a recovery: the ejection count (and so the backoff) resets. Default 60000 ms. */
  stablePeriodMs?: number;
  random?: () => number;
}

export type ResolvedHealthOptions = Readonly<Required<HealthOptions>>;

export type HealthState = 'healthy' | 'ejected' | 'probing';

export interface HealthTransition {
  from: HealthState;
  to: HealthState;
  reason: string;
  ejectedForMs?: number;
}

/** Lets a group veto an outlier ejection (see HealthSet: the max-ejected-percent rule). */
export interface EjectionGuard {
  mayEject(endpoint: EndpointHealth, nowMs: number): boolean;
}

const SUCCESS_RATE_BUCKETS = 10;

const HEALTH_OPTION_KEYS = optionKeys<HealthOptions>({
  consecutiveFailures: true, successRateMinRequests: true, successRateThreshold: true, windowMs: true, baseEjectionMs: true,
  maxEjectionMs: true, jitter: true, maxEjectedPercent: true, probeTimeoutMs: true, stablePeriodMs: true, random: true,
});

export function resolveHealthOptions(opts: HealthOptions = {}): ResolvedHealthOptions {
  if (opts === null || typeof opts !== 'object') throw new InvalidOptionError('health', 'must be an object');
  knownKeys('', opts, HEALTH_OPTION_KEYS);
  const baseEjectionMs = positiveNumber('baseEjectionMs', opts.baseEjectionMs, 1000);
  const maxEjectionMs = positiveNumber('maxEjectionMs', opts.maxEjectionMs, Math.max(30_000, baseEjectionMs));
  if (maxEjectionMs < baseEjectionMs) throw new InvalidOptionError('maxEjectionMs', `must be >= baseEjectionMs (${baseEjectionMs})`);
  const successRateThreshold = nonNegativeNumber('successRateThreshold', opts.successRateThreshold, 0.5);
  if (successRateThreshold > 1) throw new InvalidOptionError('successRateThreshold', 'must be in [0, 1]');
  const jitter = nonNegativeNumber('jitter', opts.jitter, 0.2);
  if (jitter >= 1) throw new InvalidOptionError('jitter', 'must be in [0, 1)');
  const maxEjectedPercent = nonNegativeNumber('maxEjectedPercent', opts.maxEjectedPercent, 50);
  if (maxEjectedPercent > 100) throw new InvalidOptionError('maxEjectedPercent', 'must be in [0, 100]');
  const resolved: ResolvedHealthOptions = Object.freeze({
    consecutiveFailures: integerInRange('consecutiveFailures', opts.consecutiveFailures, 1, 1_000_000, 5),
    successRateMinRequests: integerInRange('successRateMinRequests', opts.successRateMinRequests, 1, 1_000_000_000, 20),
    successRateThreshold,
    windowMs: positiveNumber('windowMs', opts.windowMs, 10_000),
    baseEjectionMs,
    maxEjectionMs,
    jitter,
    maxEjectedPercent,
    probeTimeoutMs: positiveNumber('probeTimeoutMs', opts.probeTimeoutMs, 10_000),
    stablePeriodMs: nonNegativeNumber('stablePeriodMs', opts.stablePeriodMs, 60_000),
    random: optionalFunction<() => number>('random', opts.random) ?? Math.random,
  });
  RESOLVED.add(resolved);
  return resolved;
}

/** Option objects that came out of resolveHealthOptions, so they are not validated again. */
const RESOLVED = new WeakSet<object>();

/**
 * Passive health of one endpoint (Envoy outlier detection, per endpoint, with an injected clock).
 *
 *   healthy --(N consecutive failures | success rate < threshold over the window)--> ejected
 *   healthy|probing --markDown (connection dead)--> ejected, until markUp
 *   ejected --(ejection time passed, and connection up)--> probing      [lazily, in state()]
 *   probing --one probe call succeeds--> healthy   |   --it fails--> ejected for longer
 *
 * Ejection k lasts min(max, base × 2^(k-1)) shortened by up to `jitter` (jitter only shortens,
 * so with jitter < 0.5 durations still grow strictly until the cap, while clients that ejected
 * together spread their probes). After
 * `stablePeriodMs` of uninterrupted health the count k resets. While probing, exactly one call
 * at a time may go to the endpoint (`tryAcquireProbe`); its outcome decides. Outcomes of calls
 * that were already in flight when the endpoint was ejected are ignored.
 */
export class EndpointHealth {
  readonly options: ResolvedHealthOptions;
  private readonly guard: EjectionGuard | undefined;
  private admitted = true;
  private down = false;
  private ejectedUntil = 0;
  private consecutive = 0;
  private readonly calls: WindowedCounter;
  private readonly successes: WindowedCounter;
  private ejectionCount = 0;
  private totalEjectionCount = 0;
  private healthySince = Number.NEGATIVE_INFINITY;
  private probeAt: number | undefined;
  private downReason: string | undefined;

  constructor(opts: HealthOptions | ResolvedHealthOptions = {}, guard?: EjectionGuard) {
    this.options = RESOLVED.has(opts) ? (opts as ResolvedHealthOptions) : resolveHealthOptions(opts);
    this.guard = guard;
    this.calls = new WindowedCounter(this.options.windowMs, SUCCESS_RATE_BUCKETS);
    this.successes = new WindowedCounter(this.options.windowMs, SUCCESS_RATE_BUCKETS);
  }

  /** Ejections in the current streak (drives the backoff; resets after a stable period). */
  get ejections(): number {
    return this.ejectionCount;
  }

  /** All ejections over the endpoint's lifetime, for metrics. */
  get totalEjections(): number {
    return this.totalEjectionCount;
  }

  /** True while the endpoint takes normal traffic (state 'healthy'); no clock needed. */
  get serving(): boolean {
    return this.admitted;
  }

  /** When the current ejection ends (ms), or undefined if not ejected by time. */
  get ejectedUntilMs(): number | undefined {
    return this.admitted || this.down ? undefined : this.ejectedUntil;
  }

  /** Why the transport marked the endpoint down, while it is down. */
  get downBecause(): string | undefined {
    return this.down ? this.downReason : undefined;
  }

  state(nowMs: number): HealthState {
    if (this.admitted) return 'healthy';
    if (this.down || nowMs < this.ejectedUntil) return 'ejected';
    return 'probing';
  }

  onSuccess(nowMs: number): HealthTransition | undefined {
    const state = this.state(nowMs);
    if (state === 'probing') return this.admit(nowMs, 'probe-succeeded');
    if (state === 'ejected') return undefined;
    this.consecutive = 0;
    this.calls.add(nowMs, 1);
    this.successes.add(nowMs, 1);
    if (this.ejectionCount > 0 && nowMs - this.healthySince >= this.options.stablePeriodMs) this.ejectionCount = 0;
    return undefined;
  }

  onFailure(nowMs: number): HealthTransition | undefined {
    const state = this.state(nowMs);
    if (state === 'probing') return this.eject(nowMs, 'probe-failed');
    if (state === 'ejected') return undefined;
    this.consecutive++;
    this.calls.add(nowMs, 1);
    const o = this.options;
    if (this.consecutive >= o.consecutiveFailures) return this.tryEject(nowMs, 'consecutive-failures');
    if (o.successRateThreshold > 0) {
      const calls = this.calls.sum(nowMs);
      if (calls >= o.successRateMinRequests && this.successes.sum(nowMs) < o.successRateThreshold * calls) {
        return this.tryEject(nowMs, 'success-rate');
      }
    }
    return undefined;
  }

  /** The transport saw the connection die: out of rotation until `markUp`, whatever the guard says. */
  markDown(nowMs: number, reason: string): HealthTransition | undefined {
    if (this.down) return undefined;
    const from = this.state(nowMs);
    this.down = true;
    this.downReason = reason;
    this.admitted = false;
    this.consecutive = 0;
    this.probeAt = undefined;
    return from === 'ejected' ? undefined : { from, to: 'ejected', reason };
  }

  /**
   * The transport reconnected: the endpoint becomes 'probing' (one call re-admits it), or stays
   * 'ejected' until a running outlier ejection ends — a reconnect does not cut a backoff short.
   */
  markUp(nowMs: number): HealthTransition | undefined {
    if (!this.down) return undefined;
    this.down = false;
    this.downReason = undefined;
    const to = this.state(nowMs);
    return to === 'ejected' ? undefined : { from: 'ejected', to, reason: 'reconnected' };
  }

  /** Claims the single probe slot; true only while probing and no other probe is out. */
  tryAcquireProbe(nowMs: number): boolean {
    if (this.state(nowMs) !== 'probing') return false;
    if (this.probeAt !== undefined && nowMs - this.probeAt < this.options.probeTimeoutMs) return false;
    this.probeAt = nowMs;
    return true;
  }

  /** The probe call ended without an outcome (e.g. the caller cancelled it): free the slot. */
  releaseProbe(): void {
    this.probeAt = undefined;
  }

  private tryEject(nowMs: number, reason: string): HealthTransition | undefined {
    if (this.guard && !this.guard.mayEject(this, nowMs)) return undefined;
    return this.eject(nowMs, reason);
  }

  private eject(nowMs: number, reason: string): HealthTransition {
    const from = this.state(nowMs);
    this.ejectionCount++;
    this.totalEjectionCount++;
    const o = this.options;
    const exp = Math.min(o.maxEjectionMs, o.baseEjectionMs * 2 ** Math.min(this.ejectionCount - 1, 52));
    const r = o.random();
    const shortenBy = o.jitter * (r >= 0 && r < 1 ? r : 0);
    const duration = Math.max(1, Math.round(exp * (1 - shortenBy)));
    this.admitted = false;
    this.ejectedUntil = nowMs + duration;
    this.resetCounters();
    return { from, to: 'ejected', reason, ejectedForMs: duration };
  }

  private admit(nowMs: number, reason: string): HealthTransition {
    const from = this.state(nowMs);
    this.admitted = true;
    this.healthySince = nowMs;
    this.resetCounters();
    return { from, to: 'healthy', reason };
  }

  private resetCounters(): void {
    this.consecutive = 0;
    this.calls.reset();
    this.successes.reset();
    this.probeAt = undefined;
  }
}
