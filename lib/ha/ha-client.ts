import { EventEmitter } from 'events';
import { monotonicMs } from '../base/clock';
import { MembershipView, readServiceNode } from '../coordination';
import type { Member, MembershipSnapshot, ServiceMode, ServiceNodeData } from '../coordination';
import { EndpointPool, PoolEndpoint, ConnectionSettings } from './endpoint-pool';
import { InvalidOptionError } from '../base/errors';
import { judgesEndpoint } from '../base/error-codes';
import { FaultReport, FaultReporter, FaultLogger } from '../ops/fault-reporter';
import type { HaMetrics } from '../ops/metrics';
import { booleanOption, nonEmptyString, oneOf, positiveNumber } from '../base/options';
import { BALANCER_NAMES, canRetryElsewhere, HedgePlan, RetryBudget, backoffDelay, resolveBackoffOptions } from '../routing';
import type { BalancerName, HealthOptions, HedgeOptions, ResolvedBackoffOptions, RetryBudgetOptions } from '../routing';
import { RpcError } from '../transport';
import { ZkError, ZkSession } from '../zk';
import type { ZkSessionOptions } from '../zk';

export interface HaClientOptions {
  /** A ZkSession to use (the caller owns it), or options for one the client creates and closes. */
  readonly zk: ZkSession | ZkSessionOptions;
  readonly service: string;
  readonly root?: string;
  /** Expected mode; default: read from the service node (waits for the service to exist). */
  readonly mode?: ServiceMode;
  /** Redundant mode: how calls are spread. Default 'round-robin'. */
  readonly balancer?: BalancerName;
  /** Deadline of a call that gives none. Default 5000. */
  readonly deadlineMs?: number;
  readonly retry?: {
    /** Retries of calls that may have executed (idempotent) or were OVERLOADED draw on this budget. */
    readonly budget?: RetryBudgetOptions;
    /** Pause between attempts while waiting for a primary/endpoint (a change in membership or connections ends it early). Defaults: 2 ms doubling to 50 ms, full jitter. */
    readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  };
  /** Hedging of idempotent calls in redundant mode, e.g. { delaysMs: [0, 0] } = send to 3 at once. */
  readonly hedge?: HedgeOptions;
  readonly health?: HealthOptions;
  /** Settings of each member connection: heartbeat, reconnect backoff, TLS, token. */
  readonly connection?: ConnectionSettings;
  readonly logger?: FaultLogger;
  readonly metrics?: HaMetrics;
  /** Random source (tests, benchmarks). */
  readonly random?: () => number;
}

export interface HaCallOptions {
  readonly deadlineMs?: number;
  /** Safe to run more than once: may be retried after an unknown outcome, and hedged. Default false. */
  readonly idempotent?: boolean;
  readonly signal?: AbortSignal;
  /** Consistent-hash key (balancer 'consistent-hash'). */
  readonly key?: string;
  readonly meta?: Record<string, unknown>;
  /** Hedge this call (idempotent calls, redundant mode, client `hedge` option set). Default true when possible. */
  readonly hedge?: boolean;
}

export interface HaCallResult<R> {
  readonly result: R;
  /** The primary's epoch (fencing token) in primary/backup mode. */
  readonly epoch: number | undefined;
  /** Member id that answered. */
  readonly member: string;
  readonly attempts: number;
}

export interface HaClientEvents {
  fault: [report: FaultReport];
  primary: [info: { member: Member | undefined; epoch: number | undefined }];
  membership: [snapshot: MembershipSnapshot];
}

/**
 * The client of a highly available service: it watches the group in ZooKeeper and routes every
 * call to the primary (primary/backup) or through a balancer (redundant), with deadlines,
 * retry safety, a retry budget, hedging, passive health and epoch fencing. While ZooKeeper is
 * unreachable it keeps routing on the last-known membership.
 */
export class HaClient extends EventEmitter<HaClientEvents> {
  readonly service: string;
  readonly session: ZkSession;
  readonly view: MembershipView;
  readonly faults: FaultReporter;
  private modeValue: ServiceMode | undefined;
  private readonly ownsSession: boolean;
  private readonly pool: EndpointPool;
  private readonly budget: RetryBudget;
  private readonly backoff: ResolvedBackoffOptions;
  private readonly hedgePlan: HedgePlan | undefined;
  private readonly deadlineMs: number;
  private readonly random: () => number;
  private readonly options: HaClientOptions;
  private maxEpoch = 0;
  private hint: string | undefined;
  private unavailableSince: number | undefined;
  private lastEpoch: number | undefined;
  private closed = false;

  constructor(options: HaClientOptions) {
    super();
    if (!options || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object');
    this.options = options;
    this.service = nonEmptyString('service', options.service);
    this.modeValue = options.mode === undefined ? undefined : oneOf('mode', options.mode, ['primary-backup', 'redundant'] as const);
    const balancer = oneOf('balancer', options.balancer, BALANCER_NAMES, 'round-robin');
    this.deadlineMs = positiveNumber('deadlineMs', options.deadlineMs, 5000);
    this.budget = new RetryBudget(options.retry?.budget ?? {});
    this.backoff = resolveBackoffOptions({ initialMs: 2, maxMs: 50, jitter: 'full', ...options.retry?.backoff });
    this.hedgePlan = options.hedge === undefined ? undefined : new HedgePlan(options.hedge);
    if (options.random !== undefined && typeof options.random !== 'function') throw new InvalidOptionError('random', 'must be a function');
    this.random = options.random ?? Math.random;
    if (options.zk instanceof ZkSession) {
      this.session = options.zk;
      this.ownsSession = false;
    } else {
      if (!options.zk || typeof options.zk !== 'object') throw new InvalidOptionError('zk', 'must be a ZkSession or ZkSession options');
      // A client holds no lease: cheap read probes suffice to detect a silent server.
      this.session = new ZkSession({ leaseProbe: 'read', ...options.zk });
      this.ownsSession = true;
    }
    this.view = new MembershipView(this.session, this.service, { root: options.root });
    this.faults = new FaultReporter({ service: this.service, logger: options.logger, metrics: options.metrics });
    this.faults.on('fault', (r) => this.emit('fault', r));
    this.pool = new EndpointPool(options.connection ?? {}, balancer, options.health ?? {}, this.faults, options.random);
  }

  get mode(): ServiceMode | undefined {
    return this.modeValue;
  }

  /** The primary as the client sees it (primary/backup). */
  get primary(): Member | undefined {
    return this.view.snapshot.leader;
  }

  /** Highest epoch seen; responses below it are refused (FENCED). */
  get epoch(): number {
    return this.maxEpoch;
  }

  /** Connects to ZooKeeper and loads the membership. */
  async start(): Promise<void> {
    this.wireEvents();
    await this.session.start();
    if (!this.modeValue) this.modeValue = (await this.waitForService()).mode;
    const snapshot = await this.view.start();
    this.apply(snapshot);
    await this.pool.waitAnyUp(Math.min(2000, this.deadlineMs));
  }

  /** The service node, once it exists: a client may start before any server has. */
  private async waitForService(): Promise<ServiceNodeData> {
    for (;;) {
      if (this.closed) throw new RpcError('UNAVAILABLE', 'client closed while waiting for the service', { notExecuted: true });
      try {
        return await readServiceNode(this.session, this.view.paths);
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000); // the watch is enough; this bounds a missed one
        this.session.exists(this.view.paths.servicePath, { watch: () => { clearTimeout(timer); resolve(); } })
          .then((stat) => { if (stat) { clearTimeout(timer); resolve(); } }, () => undefined);
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.view.stop();
    await this.pool.close();
    if (this.ownsSession) await this.session.close();
  }

  /** Calls `method` on the service; resolves with the result. */
  async call<R = unknown>(method: string, params?: unknown, opts: HaCallOptions = {}): Promise<R> {
    return (await this.callWithInfo<R>(method, params, opts)).result;
  }

  /** Like call(), with the epoch and the member that answered. */
  async callWithInfo<R = unknown>(method: string, params?: unknown, opts: HaCallOptions = {}): Promise<HaCallResult<R>> {
    const started = monotonicMs();
    const deadline = started + (opts.deadlineMs ?? this.deadlineMs);
    this.budget.deposit(started);
    try {
      if (this.closed) throw new RpcError('UNAVAILABLE', 'client is closed', { notExecuted: true });
      if (!this.modeValue) throw new RpcError('UNAVAILABLE', 'client not started', { notExecuted: true });
      const idempotent = booleanOption('idempotent', opts.idempotent, false);
      const result = this.modeValue === 'primary-backup'
        ? await this.callPrimary<R>(method, params, opts, deadline)
        : this.hedgePlan && idempotent && opts.hedge !== false
          ? await this.callHedged<R>(method, params, opts, deadline, this.hedgePlan)
          : await this.callBalanced<R>(method, params, opts, deadline, idempotent);
      this.options.metrics?.call(this.service, 'client', method, 'OK', (monotonicMs() - started) / 1000);
      return result;
    } catch (error) {
      const code = error instanceof RpcError ? error.code : 'INTERNAL';
      this.options.metrics?.call(this.service, 'client', method, code, (monotonicMs() - started) / 1000);
      throw error;
    }
  }

  // ---- primary/backup ---------------------------------------------------------------------

  private async callPrimary<R>(method: string, params: unknown, opts: HaCallOptions, deadline: number): Promise<HaCallResult<R>> {
    const idempotent = opts.idempotent === true;
    let lastError: RpcError | undefined;
    let followedHint = false;
    for (let attempt = 0; ; attempt++) {
      const target = this.primaryTarget();
      if (!target || target.connection.state !== 'up') {
        // A refusal for good (wrong token, incompatible protocol) will not heal by waiting.
        if (target?.connection.refused) throw target.connection.refused;
        this.markUnavailable();
        await this.waitForChange(attempt, deadline, opts.signal, lastError ?? noPrimary(this.service));
        continue;
      }
      try {
        const r = await this.attempt<R>(target, method, params, opts, deadline);
        this.hint = undefined;
        this.noteSuccess(r.epoch);
        return { ...r, attempts: attempt + 1 };
      } catch (error) {
        const e = asRpcError(error);
        lastError = e;
        if (e.code === 'NOT_PRIMARY') {
          this.markUnavailable();
          const hinted = e.leaderHint ? this.pool.byUrl(e.leaderHint) : undefined;
          this.hint = hinted && hinted !== target ? hinted.name : undefined;
          // Straight to the member it named — once: two members that both say "not me" during an
          // election must not be ping-ponged at full speed.
          if (this.hint && !followedHint) {
            followedHint = true;
            continue;
          }
          followedHint = false;
        } else if (!this.mayRetry(e, idempotent)) {
          throw e;
        } else {
          this.markUnavailable();
        }
        await this.waitForChange(attempt, deadline, opts.signal, e);
      }
    }
  }

  /** The hinted member (after NOT_PRIMARY) if still present, else the lowest sequence in the view. */
  private primaryTarget(): PoolEndpoint | undefined {
    if (this.hint) {
      const hinted = this.pool.get(this.hint);
      // A hint is worth following only to a member we can reach now.
      if (hinted && hinted.connection.state === 'up') return hinted;
      this.hint = undefined;
    }
    const leader = this.view.snapshot.leader;
    return leader ? this.pool.get(leader.name) : undefined;
  }

  private markUnavailable(): void {
    this.unavailableSince ??= monotonicMs();
  }

  private noteSuccess(epoch: number | undefined): void {
    const since = this.unavailableSince;
    this.unavailableSince = undefined;
    if (epoch !== undefined && this.lastEpoch !== undefined && epoch > this.lastEpoch) {
      this.faults.report('failover', {
        durationMs: since === undefined ? undefined : monotonicMs() - since,
        detail: { fromEpoch: this.lastEpoch, toEpoch: epoch },
      });
    }
    if (epoch !== undefined) this.lastEpoch = epoch;
  }

  // ---- redundant ----------------------------------------------------------------------------

  private async callBalanced<R>(method: string, params: unknown, opts: HaCallOptions, deadline: number, idempotent: boolean): Promise<HaCallResult<R>> {
    const tried = new Set<string>();
    let lastError: RpcError | undefined;
    for (let attempt = 0; ; attempt++) {
      const target = this.pickAvoiding(tried, opts.key);
      if (!target) {
        const refused = this.pool.refusedEverywhere();
        if (refused) throw refused;
        await this.waitForChange(attempt, deadline, opts.signal, lastError ?? noEndpoint(this.service));
        tried.clear();
        continue;
      }
      try {
        const r = await this.attempt<R>(target, method, params, opts, deadline);
        return { ...r, attempts: attempt + 1 };
      } catch (error) {
        const e = asRpcError(error);
        lastError = e;
        if (!this.mayRetry(e, idempotent)) throw e;
        tried.add(target.name);
        if (tried.size >= this.pool.size) await this.waitForChange(attempt, deadline, opts.signal, e);
      }
    }
  }

  /** Sends to several members (idempotent calls only); the first answer wins, the others are cancelled. */
  private async callHedged<R>(method: string, params: unknown, opts: HaCallOptions, deadline: number, plan: HedgePlan): Promise<HaCallResult<R>> {
    const schedule = plan.start(monotonicMs());
    const used = new Set<string>();
    const controllers: AbortController[] = [];
    const outstanding = new Set<Promise<void>>();
    let winner: HaCallResult<R> | undefined;
    let lastError: RpcError | undefined;
    let wake: (() => void) | undefined;
    const onAbort = (): void => wake?.();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        const now = monotonicMs();
        if (opts.signal?.aborted) throw new RpcError('CANCELLED', 'call cancelled', { notExecuted: false });
        if (now >= deadline) throw lastError ?? new RpcError('DEADLINE_EXCEEDED', `no answer from "${this.service}" before the deadline`);
        if (schedule.due(now)) {
          const target = this.pickAvoiding(used, opts.key);
          if (target && !used.has(target.name)) {
            used.add(target.name);
            schedule.markSent(now);
            const controller = new AbortController();
            controllers.push(controller);
            const p: Promise<void> = this.attempt<R>(target, method, params, { ...opts, signal: controller.signal }, deadline).then(
              (r) => { winner ??= { ...r, attempts: schedule.sent }; },
              (error: unknown) => {
                const e = asRpcError(error);
                if (e.code !== 'CANCELLED') lastError = e;
                schedule.onAttemptFailed(monotonicMs(), canRetryElsewhere(e, true) && this.budget.tryWithdraw(monotonicMs()));
              },
            ).finally(() => { outstanding.delete(p); wake?.(); });
            outstanding.add(p);
            continue;
          }
          if (outstanding.size === 0) {
            // Nobody to send to yet: wait for the membership or a connection.
            await this.waitForChange(schedule.sent, deadline, opts.signal, lastError ?? noEndpoint(this.service));
            continue;
          }
        }
        if (winner) return winner;
        if (outstanding.size === 0 && schedule.exhausted) throw lastError ?? noEndpoint(this.service);
        const next = schedule.nextAt();
        const waitMs = Math.max(0, Math.min(deadline, next ?? deadline) - monotonicMs());
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          wake = () => { clearTimeout(timer); resolve(); };
        });
        wake = undefined;
        if (winner) return winner;
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      for (const c of controllers) c.abort(); // losers get a cancel frame; the winner's is a no-op
    }
  }

  private pickAvoiding(avoid: ReadonlySet<string>, key?: string): PoolEndpoint | undefined {
    let first: PoolEndpoint | undefined;
    for (let i = 0; i < Math.max(1, this.pool.size); i++) {
      const ep = this.pool.pick(key);
      if (!ep) return first;
      if (!avoid.has(ep.name)) return ep;
      first ??= ep;
      if (key !== undefined) break; // a hashed key always maps to the same member
    }
    return avoid.size > 0 ? undefined : first;
  }

  // ---- shared -------------------------------------------------------------------------------

  /** One attempt on one member, with health and latency bookkeeping and epoch fencing. */
  private async attempt<R>(ep: PoolEndpoint, method: string, params: unknown, opts: HaCallOptions, deadline: number): Promise<Omit<HaCallResult<R>, 'attempts'>> {
    const wallDeadline = Date.now() + Math.max(0, deadline - monotonicMs());
    const t0 = monotonicMs();
    if (opts.idempotent && ep.left.aborted) throw memberLeft(ep);
    // An idempotent call in flight to a member that leaves the group (a frozen primary whose session
    // expired, say) is cancelled there and sent elsewhere instead of waiting for a heartbeat timeout.
    const signal = opts.idempotent ? (opts.signal ? AbortSignal.any([opts.signal, ep.left]) : ep.left) : opts.signal;
    this.pool.started(ep);
    let response;
    try {
      response = await ep.connection.call<R>(method, params, { deadline: wallDeadline, signal, meta: opts.meta });
    } catch (error) {
      let e = asRpcError(error);
      if (e.code === 'CANCELLED' && ep.left.aborted && !opts.signal?.aborted) e = memberLeft(ep);
      if (judgesEndpoint(e.code, e.notExecuted)) this.pool.failed(ep);
      else this.pool.finished(ep);
      throw e;
    }
    this.pool.succeeded(ep, (monotonicMs() - t0) * 1000);
    const epoch = response.epoch;
    if (epoch !== undefined) {
      if (epoch < this.maxEpoch) {
        this.faults.report('stale-epoch', { member: ep.member.record.id, detail: { epoch, maxEpoch: this.maxEpoch, method } });
        throw new RpcError('FENCED', `response from epoch ${epoch} refused: epoch ${this.maxEpoch} already seen`, { notExecuted: false, retryable: true });
      }
      this.raiseEpoch(epoch);
    }
    return { result: response.result, epoch, member: ep.member.record.id };
  }

  /** Retry-safety and budget: see routing/retry-policy.ts. NOT_PRIMARY and never-sent retries cost nothing. */
  private mayRetry(e: RpcError, idempotent: boolean): boolean {
    if (!canRetryElsewhere(e, idempotent)) return false;
    if (e.notExecuted && e.code !== 'OVERLOADED') return true;
    return this.budget.tryWithdraw(monotonicMs());
  }

  /**
   * Waits for the membership, a connection or health to change — or a jittered backoff, whichever
   * is first — without passing the deadline; rejects with the last error at the deadline.
   */
  private waitForChange(attempt: number, deadline: number, signal: AbortSignal | undefined, lastError: RpcError): Promise<void> {
    const now = monotonicMs();
    if (signal?.aborted) return Promise.reject(new RpcError('CANCELLED', 'call cancelled', { notExecuted: true, cause: signal.reason }));
    if (now >= deadline || this.closed) return Promise.reject(deadlineError(lastError, this.service));
    const pause = Math.min(backoffDelay(attempt + 1, this.backoff, this.random), deadline - now);
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
      };
      const timer = setTimeout(() => { done(); resolve(); }, pause);
      // A change ends the wait early, but never sooner than 1 ms: pool events can come in bursts.
      const unsubscribe = this.pool.onChange(() => { done(); setTimeout(resolve, 1); });
      const onAbort = (): void => { done(); reject(new RpcError('CANCELLED', 'call cancelled', { notExecuted: true, cause: signal?.reason })); };
      signal?.addEventListener('abort', onAbort);
    });
  }

  private raiseEpoch(epoch: number): void {
    if (epoch <= this.maxEpoch) return;
    this.maxEpoch = epoch;
    this.options.metrics?.setEpoch(this.service, epoch);
  }

  private apply(snapshot: MembershipSnapshot): void {
    this.pool.update(snapshot.members);
    this.options.metrics?.setMembers(this.service, snapshot.members.length);
    // The view's leader is the lowest node: every lower one is gone with its session and lease.
    if (this.modeValue === 'primary-backup' && snapshot.leader) this.raiseEpoch(snapshot.leader.sequence);
  }

  private wireEvents(): void {
    this.view.on('change', (change) => {
      this.apply(change.snapshot);
      for (const m of change.joined) this.faults.report('member-joined', { member: m.record.id, detail: { url: m.record.url, sequence: m.sequence } });
      for (const m of change.left) this.faults.report('member-left', { member: m.record.id, detail: { url: m.record.url, sequence: m.sequence } });
      this.emit('membership', change.snapshot);
    });
    this.view.on('leader', (info) => this.emit('primary', info));
    this.view.on('invalid', ({ path, error }) => this.faults.report('rejected-input', { detail: { path, code: error.code, message: error.message } }));
    this.session.on('lost', (i) => this.faults.report('session-lost', { detail: { ...i } }));
    this.session.on('session', (i) => this.faults.report('session-rejoined', { detail: { ...i } }));
    // Already rate-limited by the session (one event per second, with a count).
    this.session.on('malformedReply', (i) => this.faults.report('rejected-input', { detail: { source: 'zookeeper', ...i } }));
  }
}

function asRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  return new RpcError('INTERNAL', error instanceof Error ? error.message : String(error), { notExecuted: false, cause: error });
}

function memberLeft(ep: PoolEndpoint): RpcError {
  return new RpcError('UNAVAILABLE', `member ${ep.member.record.id} left the group while the call was in flight`, { notExecuted: false, retryable: true });
}

function noPrimary(service: string): RpcError {
  return new RpcError('UNAVAILABLE', `no primary of "${service}" is reachable`, { notExecuted: true, retryable: true });
}

function noEndpoint(service: string): RpcError {
  return new RpcError('UNAVAILABLE', `no member of "${service}" is reachable`, { notExecuted: true, retryable: true });
}

/** At the deadline: DEADLINE_EXCEEDED, keeping whether the call may have run. */
function deadlineError(last: RpcError, service: string): RpcError {
  if (last.code === 'DEADLINE_EXCEEDED') return last;
  return new RpcError('DEADLINE_EXCEEDED', `deadline exceeded calling "${service}" (last error: ${last.code}: ${last.message})`, {
    notExecuted: last.notExecuted, retryable: false, cause: last,
  });
}
