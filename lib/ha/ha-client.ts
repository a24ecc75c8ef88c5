import { EventEmitter } from 'events';
import { monotonicMs } from '../base/clock';
import { describeUntrusted } from '../base/untrusted';
import { CoordinationError, MembershipView, readServiceNode } from '../coordination';
import type { Member, MembershipSnapshot, ServiceMode, ServiceNodeData } from '../coordination';
import { EndpointPool, PoolEndpoint, ConnectionSettings } from './endpoint-pool';
import { InvalidOptionError } from '../base/errors';
import { FaultReport, FaultReporter, FaultLogger, loggerOption } from '../ops/fault-reporter';
import { metricsOption } from '../ops/metrics';
import type { HaMetrics } from '../ops/metrics';
import { booleanOption, knownKeys, nonEmptyString, objectOption, oneOf, optionKeys, positiveNumber, prefixOptionErrors } from '../base/options';
import { BALANCER_NAMES, HedgePlan, RetryBudget, resolveBackoffOptions } from '../routing';
import type { BalancerName, HealthOptions, HedgeOptions, RetryBudgetOptions } from '../routing';
import { RpcError } from '../transport';
import { ZkError, ZkSession } from '../zk';
import type { ZkSessionOptions } from '../zk';
import { callBalanced } from './balanced-policy';
import type { PolicyContext } from './call-policy';
import { EpochFence } from './epoch-fence';
import { reportRetriedErrors } from './coordination-faults';
import { callHedged } from './hedged-policy';
import { PrimaryPolicy } from './primary-policy';

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

const CLIENT_KEYS = optionKeys<HaClientOptions>({
  zk: true, service: true, root: true, mode: true, balancer: true, deadlineMs: true, retry: true, hedge: true, health: true, connection: true,
  logger: true, metrics: true, random: true,
});
const RETRY_KEYS = optionKeys<NonNullable<HaClientOptions['retry']>>({ budget: true, backoff: true });
const RETRY_BACKOFF_KEYS = optionKeys<NonNullable<NonNullable<HaClientOptions['retry']>['backoff']>>({ initialMs: true, maxMs: true });

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
  private readonly hedgePlan: HedgePlan | undefined;
  private readonly deadlineMs: number;
  private readonly options: HaClientOptions;
  private readonly policy: PolicyContext<PoolEndpoint>;
  private readonly primaryPolicy: PrimaryPolicy<PoolEndpoint>;
  private closed = false;
  /** Ends the current wait of waitForService() early (its watch fired, or close()). */
  private wakeWaiter: (() => void) | undefined;
  /** The primary last announced ('primary' event). */
  private primaryName: string | undefined;

  constructor(options: HaClientOptions) {
    super();
    if (!options || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object');
    this.options = options;
    knownKeys('', options, CLIENT_KEYS);
    this.service = nonEmptyString('service', options.service);
    this.modeValue = options.mode === undefined ? undefined : oneOf('mode', options.mode, ['primary-backup', 'redundant'] as const);
    const balancer = oneOf('balancer', options.balancer, BALANCER_NAMES, 'round-robin');
    this.deadlineMs = positiveNumber('deadlineMs', options.deadlineMs, 5000);
    const retry = objectOption('retry', options.retry) ?? {};
    knownKeys('retry', retry, RETRY_KEYS);
    const budget = objectOption('retry.budget', retry.budget) ?? {};
    this.budget = prefixOptionErrors('retry.budget', () => new RetryBudget(budget));
    const retryBackoff = objectOption('retry.backoff', retry.backoff) ?? {};
    knownKeys('retry.backoff', retryBackoff, RETRY_BACKOFF_KEYS);
    const backoff = prefixOptionErrors('retry.backoff', () => resolveBackoffOptions({ initialMs: 2, maxMs: 50, jitter: 'full', ...retryBackoff }));
    const hedge = options.hedge;
    this.hedgePlan = hedge === undefined ? undefined : prefixOptionErrors('hedge', () => new HedgePlan(hedge));
    if (options.random !== undefined && typeof options.random !== 'function') throw new InvalidOptionError('random', 'must be a function');
    // Objects whose methods run later (at a fault, after a call): a wrong one fails here.
    loggerOption('logger', options.logger);
    metricsOption('metrics', options.metrics);
    if (options.zk instanceof ZkSession) {
      this.session = options.zk;
      this.ownsSession = false;
    } else {
      if (!options.zk || typeof options.zk !== 'object') throw new InvalidOptionError('zk', 'must be a ZkSession or ZkSession options');
      // A client holds no lease: cheap read probes suffice to detect a silent server.
      const zk = options.zk;
      this.session = prefixOptionErrors('zk', () => new ZkSession({ leaseProbe: 'read', ...zk }));
      this.ownsSession = true;
    }
    this.view = new MembershipView(this.session, this.service, { root: options.root });
    this.faults = new FaultReporter({ service: this.service, logger: options.logger, metrics: options.metrics });
    this.faults.on('fault', (r) => this.emit('fault', r));
    this.pool = new EndpointPool(options.connection ?? {}, balancer, options.health ?? {}, this.faults, options.random);
    this.policy = {
      service: this.service, pool: this.pool, budget: this.budget, backoff, random: options.random ?? Math.random,
      faults: this.faults, closed: () => this.closed,
    };
    const fence = new EpochFence((epoch) => options.metrics?.setEpoch(this.service, epoch));
    this.primaryPolicy = new PrimaryPolicy(this.policy, fence);
  }

  get mode(): ServiceMode | undefined {
    return this.modeValue;
  }

  /** The primary as the client's view acknowledges it (primary/backup). */
  get primary(): Member | undefined {
    return this.view.snapshot.primary;
  }

  /**
   * The fence: the highest epoch verified in the client's own view (the acknowledged primary's
   * sequence, in the current generation); responses below it are refused (FENCED).
   */
  get epoch(): number {
    return this.primaryPolicy.fence.epoch;
  }

  /** Connects to ZooKeeper and loads the membership. */
  async start(): Promise<void> {
    this.wireEvents();
    await this.session.start();
    if (!this.modeValue) this.modeValue = (await this.waitForService()).mode;
    else await this.checkMode(this.modeValue).catch(async (error: unknown) => {
      await this.close(); // nothing of this client is left running (its session included)
      throw error;
    });
    const snapshot = await this.view.start();
    this.apply(snapshot);
    await this.pool.waitAnyUp(Math.min(2000, this.deadlineMs));
  }

  /**
   * The service node, once it exists: a client may start before any server has, so start() waits
   * (reported once as `service-missing`: a misspelt service waits for ever otherwise, silently).
   * One exists-watch at a time: a watch is armed only after the previous one fired, so a long wait
   * adds no listeners (it used to add one per second).
   */
  private async waitForService(): Promise<ServiceNodeData> {
    let reported = false;
    let watchArmed = false;
    for (;;) {
      if (this.closed) throw new RpcError('UNAVAILABLE', 'client closed while waiting for the service', { notExecuted: true });
      try {
        return await readServiceNode(this.session, this.view.paths);
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
      }
      if (!reported) {
        reported = true;
        this.faults.report('service-missing', { detail: { service: this.view.paths.service, path: this.view.paths.servicePath } });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000); // the watch is enough; this bounds a missed one
        this.wakeWaiter = () => { clearTimeout(timer); resolve(); };
        if (watchArmed) return;
        watchArmed = true;
        this.session.exists(this.view.paths.servicePath, { watch: () => { watchArmed = false; this.wakeWaiter?.(); } })
          .then((stat) => { if (stat) this.wakeWaiter?.(); }, () => { watchArmed = false; });
      });
      this.wakeWaiter = undefined;
    }
  }

  /**
   * A mode given in the options must be the service's, when its node exists already: a
   * 'redundant' client of a primary/backup service would spread calls over backups that refuse
   * them, and its answers would not be fenced; the other way round it would find no primary.
   */
  private async checkMode(mode: ServiceMode): Promise<void> {
    let node: ServiceNodeData;
    try {
      node = await readServiceNode(this.session, this.view.paths);
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return; // no service yet: the servers will check theirs
      throw error;
    }
    if (node.mode !== mode) {
      throw new CoordinationError('MODE_MISMATCH', `the client's mode "${mode}" is not the mode of service "${this.view.paths.service}" ("${node.mode}"): leave mode out to read it from ZooKeeper`, { service: this.view.paths.service });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeWaiter?.(); // a start() waiting for the service ends now, not within the second
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
    const deadline = started + callDeadlineMs(opts, this.deadlineMs);
    this.budget.deposit(started);
    try {
      if (Number.isNaN(deadline)) {
        throw new RpcError('INVALID_ARGUMENT', typeof opts !== 'object' || opts === null
          ? `call options must be an object, not ${describeUntrusted(opts)}`
          : `deadlineMs must be a finite number of milliseconds, not ${describeUntrusted(opts.deadlineMs)}`, { notExecuted: true });
      }
      if (this.closed) throw new RpcError('UNAVAILABLE', 'client is closed', { notExecuted: true });
      if (!this.modeValue) throw new RpcError('UNAVAILABLE', 'client not started', { notExecuted: true });
      const idempotent = booleanOption('idempotent', opts.idempotent, false);
      const result = this.modeValue === 'primary-backup'
        ? await this.primaryPolicy.call<R>(method, params, opts, deadline)
        : this.hedgePlan && idempotent && opts.hedge !== false
          ? await callHedged<R, PoolEndpoint>(this.policy, method, params, opts, deadline, this.hedgePlan)
          : await callBalanced<R, PoolEndpoint>(this.policy, method, params, opts, deadline);
      this.options.metrics?.call(this.service, 'client', method, 'OK', (monotonicMs() - started) / 1000);
      return result;
    } catch (error) {
      const code = error instanceof RpcError ? error.code : 'INTERNAL';
      this.options.metrics?.call(this.service, 'client', method, code, (monotonicMs() - started) / 1000);
      throw error;
    }
  }

  private apply(snapshot: MembershipSnapshot): void {
    this.pool.update(snapshot.members);
    this.options.metrics?.setMembers(this.service, snapshot.members.length);
    const primary = snapshot.primary;
    if (primary?.name !== this.primaryName) {
      this.primaryName = primary?.name;
      this.emit('primary', { member: primary, epoch: primary?.sequence });
    }
    if (this.modeValue !== 'primary-backup') return;
    const change = this.primaryPolicy.observe(snapshot);
    // Sequences restart in a new generation (service recreated, ZooKeeper lost its data): so does the fence.
    if (change) this.faults.report('generation-changed', { detail: { ...change } });
  }

  private wireEvents(): void {
    this.view.on('change', (change) => {
      this.apply(change.snapshot);
      for (const m of change.joined) this.faults.report('member-joined', { member: m.record.id, detail: { url: m.record.url, sequence: m.sequence } });
      for (const m of change.left) this.faults.report('member-left', { member: m.record.id, detail: { url: m.record.url, sequence: m.sequence } });
      this.emit('membership', change.snapshot);
    });
    this.view.on('invalid', ({ path, error }) => this.faults.report('rejected-input', { detail: { path, code: error.code, message: error.message } }));
    reportRetriedErrors(this.faults, 'view', this.view);
    this.session.on('lost', (i) => this.faults.report('session-lost', { detail: { ...i } }));
    this.session.on('session', (i) => this.faults.report('session-rejoined', { detail: { ...i } }));
    // Already rate-limited by the session (one event per second, with a count).
    this.session.on('malformedReply', (i) => this.faults.report('rejected-input', { detail: { source: 'zookeeper', ...i } }));
  }
}

/** A call's own deadlineMs (else the client's); NaN when it is not a finite number (or `opts` is not an object). */
function callDeadlineMs(opts: HaCallOptions, fallback: number): number {
  if (typeof opts !== 'object' || opts === null) return Number.NaN;
  const ms = opts.deadlineMs ?? fallback;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : Number.NaN;
}
