import { EventEmitter } from 'events';
import { monotonicMs } from '../base/clock';
import { CoordinationError, Election, faultJournalSink, Membership, MembershipView, memberUrlProblem, SERVICE_MODES } from '../coordination';
import type { ServiceMode } from '../coordination';
import { InvalidOptionError, ZkHaError } from '../base/errors';
import { FaultReporter, loggerOption, transportFaultKind } from '../ops/fault-reporter';
import { metricsOption } from '../ops/metrics';
import type { HaMetrics } from '../ops/metrics';
import { HaHttpOption, HaMemberStatus, HttpSurface, validateHttpOption } from './http-surface';
import {
  booleanOption, fraction, integerInRange, knownKeys, nonEmptyString, nonNegativeNumber, objectOption, oneOf, optionKeys, prefixOptionErrors,
} from '../base/options';
import { RpcError, RpcServer } from '../transport';
import type { Handler } from '../transport';
import { ZkSession } from '../zk';
import { aclOption } from '../zk/acl';
import { REPL_PREFIX, ReplicatedCall, Replication } from './replication';
import type { HaHandler, ReplicationOptions } from './replication';
import { CallAdmission } from './call-admission';
import { reportCoordinationFaults } from './coordination-faults';
import type { HaServerEvents, HaServerOptions, HaServerRole } from './ha-server-types';

const SERVER_KEYS = optionKeys<HaServerOptions>({
  zk: true, service: true, mode: true, root: true, listen: true, advertiseUrl: true, handlers: true, state: true, replication: true, id: true,
  weight: true, zone: true, meta: true, leaseMs: true, driftMargin: true, isEligible: true, leaseFraction: true, standby: true, graceMs: true,
  acl: true, transport: true, logger: true, metrics: true, journal: true, http: true,
});
const REPLICATION_KEYS = optionKeys<ReplicationOptions>({
  ackTimeoutMs: true, maxPending: true, retainEntries: true, maxSnapshotBytes: true, chunkBytes: true, batchEntries: true, retryMs: true,
  connection: true, secret: true,
});
/** RpcServer options the server sets itself (HaServerTransportOptions leaves them out), and where they belong instead. */
const SET_BY_SERVER: Readonly<Record<string, string>> = {
  host: 'set listen.host', port: 'set listen.port', handlers: 'set handlers', admit: 'set by the server', onFault: 'faults are reported as "fault" events',
};

/**
 * An RPC server that is one member of a highly available service: it listens, registers in
 * ZooKeeper and — in primary/backup mode — joins the election. Only the primary runs handlers, and
 * only while its lease holds, checked at the moment each call is dispatched; backups answer
 * NOT_PRIMARY with a hint to the primary. In redundant mode every member serves.
 */
export class HaServer extends EventEmitter<HaServerEvents> {
  readonly service: string;
  readonly mode: ServiceMode;
  readonly session: ZkSession;
  readonly membership: Membership;
  readonly election: Election | undefined;
  readonly faults: FaultReporter;
  private readonly ownsSession: boolean;
  private readonly rpc: RpcServer;
  private readonly view: MembershipView;
  private readonly options: HaServerOptions;
  private readonly graceMs: number;
  private readonly listenHost: string;
  private roleValue: HaServerRole = 'starting';
  private urlValue: string | undefined;
  private readonly admission: CallAdmission;
  private starting = false;
  /** Replicated state, when the `state` option is given. */
  readonly replication: Replication | undefined;
  private readonly httpOption: HaHttpOption | undefined;
  private readonly httpSurface: HttpSurface | undefined;
  private httpUrlValue: string | undefined;
  private readonly startedAt = monotonicMs();

  constructor(options: HaServerOptions) {
    super();
    if (!options || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object');
    this.options = options;
    knownKeys('', options, SERVER_KEYS);
    this.service = nonEmptyString('service', options.service);
    this.mode = oneOf('mode', options.mode, SERVICE_MODES);
    fraction('leaseFraction', options.leaseFraction, 0.5);
    booleanOption('standby', options.standby, true);
    booleanOption('journal', options.journal, true);
    this.graceMs = nonNegativeNumber('graceMs', options.graceMs, 5000);
    // Objects whose methods run later (at a fault, a call, an election): a wrong one fails here.
    loggerOption('logger', options.logger);
    metricsOption('metrics', options.metrics);
    if (options.isEligible !== undefined && typeof options.isEligible !== 'function') throw new InvalidOptionError('isEligible', 'must be a function');
    aclOption('acl', options.acl);
    const listen = objectOption('listen', options.listen) ?? {};
    knownKeys('listen', listen, ['host', 'port']);
    this.listenHost = nonEmptyString('listen.host', listen.host, '127.0.0.1');
    const port = integerInRange('listen.port', listen.port, 0, 65535, 0);
    const transport = objectOption('transport', options.transport);
    for (const key of Object.keys(transport ?? {})) {
      if (Object.hasOwn(SET_BY_SERVER, key)) throw new InvalidOptionError(`transport.${key}`, `is not an option of HaServer's transport: ${SET_BY_SERVER[key]}`);
    }
    const replication = objectOption('replication', options.replication);
    if (replication !== undefined) knownKeys('replication', replication, REPLICATION_KEYS);
    if (options.advertiseUrl !== undefined) {
      const problem = memberUrlProblem(options.advertiseUrl);
      if (problem) throw new InvalidOptionError('advertiseUrl', problem);
    }
    this.httpOption = validateHttpOption(options.http);
    this.httpSurface = this.httpOption === false ? undefined : new HttpSurface({
      status: () => this.status(),
      metrics: options.metrics ? () => options.metrics!.exposition() : undefined,
      onFault: (f) => this.faults.report(transportFaultKind(f.code, 'server') ?? 'transport', { detail: { ...f } }),
    });
    if (options.zk instanceof ZkSession) {
      this.session = options.zk;
      this.ownsSession = false;
    } else {
      if (!options.zk || typeof options.zk !== 'object') throw new InvalidOptionError('zk', 'must be a ZkSession or ZkSession options');
      // Renew the lease at least twice per lease period, so one slow probe does not lapse it.
      const leaseFraction = options.leaseFraction ?? 0.5;
      const zk = options.zk;
      this.session = prefixOptionErrors('zk', () => new ZkSession({ probeFraction: Math.min(1 / 3, leaseFraction / 2), ...zk }));
      this.ownsSession = true;
    }
    this.rpc = prefixOptionErrors('transport', () => new RpcServer({
      ...transport,
      host: this.listenHost,
      port,
      admit: this.mode === 'primary-backup' ? (call) => this.admission.admitPrimary(call.method, call.held) : () => this.admission.admitMember(),
      onFault: (f) => this.faults.report(transportFaultKind(f.code, 'server') ?? 'transport', { detail: { ...f } }),
      httpHandler: this.httpOption === undefined ? this.httpSurface?.handle : undefined,
    }));
    // The record's url is filled in at start(), once the port is known. The record is validated
    // here exactly as every view validates it: a record no client would route to fails now.
    this.membership = newMembership(this.session, {
      service: this.service,
      mode: this.mode,
      root: options.root,
      acl: options.acl,
      record: {
        id: options.id,
        url: options.advertiseUrl ?? 'ws://unbound.invalid:1',
        weight: options.weight ?? 1,
        zone: options.zone,
        meta: options.meta,
      },
    });
    this.faults = new FaultReporter({
      service: this.service,
      member: this.membership.record.id,
      logger: options.logger,
      metrics: options.metrics,
      journal: options.journal === false ? undefined : faultJournalSink({ session: this.session, paths: this.membership.paths, acl: options.acl }),
    });
    this.faults.on('fault', (r) => this.emit('fault', r));
    this.view = new MembershipView(this.session, this.service, { root: options.root });
    this.replication = options.state === undefined ? undefined : this.createReplication(options);
    this.election = this.mode === 'primary-backup'
      ? new Election(this.session, this.membership, {
        leaseMs: options.leaseMs, driftMargin: options.driftMargin, leaseFraction: options.leaseFraction, standby: options.standby,
        isEligible: this.eligibility(options),
      })
      : undefined;
    this.admission = new CallAdmission(this, options.metrics);
    for (const [method, handler] of Object.entries(objectOption('handlers', options.handlers) ?? {})) this.register(method, handler);
  }

  get id(): string {
    return this.membership.record.id;
  }
  get role(): HaServerRole {
    return this.roleValue;
  }
  /** The URL clients reach this member at (after start()). */
  get url(): string | undefined {
    return this.urlValue;
  }
  /** The epoch while primary. */
  get epoch(): number | undefined {
    return this.election?.epoch;
  }
  /**
   * True while this member is the primary and its lease holds. A handler with side effects outside
   * this process should check it right before acting and pass `ctx.epoch` to its storage as a
   * fencing token: a process can be paused between any check and the act that follows it, so only
   * the storage, refusing a lower epoch than it has seen, closes that gap for good.
   */
  isPrimary(): boolean {
    return this.election !== undefined && this.roleValue !== 'stopping' && this.election.isLeader();
  }

  /** Base URL of /healthz, /readyz, /primary and /metrics (after start()), unless `http: false`. */
  get httpUrl(): string | undefined {
    return this.httpUrlValue;
  }

  /** What /healthz, /readyz and /primary answer with. */
  status(): HaMemberStatus {
    return {
      service: this.service,
      mode: this.mode,
      member: this.id,
      role: this.roleValue,
      epoch: this.election?.epoch,
      primary: this.isPrimary(),
      registered: this.membership.node !== undefined,
      session: { state: this.session.state, id: this.session.sessionId },
      url: this.urlValue,
      pid: process.pid,
      uptimeMs: Math.round(monotonicMs() - this.startedAt),
    };
  }

  /** Calls being handled now. */
  get inFlight(): number {
    return this.rpc.inFlight;
  }

  register<P, R>(method: string, handler: HaHandler<P, R>): void {
    if (typeof method === 'string' && method.startsWith(REPL_PREFIX)) throw new InvalidOptionError(`handlers.${method}`, `the "${REPL_PREFIX}" prefix is reserved for replication`);
    // Checked before wrapping: the wrappers below are functions whatever they wrap.
    if (typeof handler !== 'function') throw new InvalidOptionError(`handlers.${String(method)}`, 'must be a function');
    const replication = this.replication;
    const inner: Handler<P, R> = replication === undefined
      ? handler
      : (params, ctx) => handler(params, new ReplicatedCall(ctx, replication));
    this.rpc.register(method, this.options.metrics ? measured(this.service, method, inner, this.options.metrics) : inner);
  }

  /** With replicated state only members of the in-sync set may take the lease (and the user's check, if any). */
  private eligibility(options: HaServerOptions): (() => Promise<boolean> | boolean) | undefined {
    const replication = this.replication;
    const user = options.isEligible;
    if (replication === undefined) return user;
    return async () => (await replication.eligible()) && (user === undefined || (await user()) === true);
  }

  private createReplication(options: HaServerOptions): Replication {
    if (this.mode !== 'primary-backup') throw new InvalidOptionError('state', 'replicated state needs mode "primary-backup"');
    const replication = new Replication(options.state!, options.replication, {
      session: this.session,
      paths: this.membership.paths,
      acl: options.acl,
      memberId: this.membership.record.id,
      isPrimary: () => this.isPrimary(),
      leads: (epoch) => this.isPrimary() && this.election?.epoch === epoch,
      fault: (f) => this.faults.report(f.kind, { detail: f.detail }),
      yieldLeadership: () => {
        // The set changed between the eligibility check and the claim: hand over to the next in line.
        if (this.roleValue === 'primary') this.stepDown().catch(() => undefined);
      },
      viewedPrimary: () => {
        const { primary, generation } = this.view.snapshot;
        return { epoch: primary !== undefined && primary.record.id !== this.id ? primary.sequence : undefined, generation };
      },
      generation: () => this.membership.generation,
      ownUrl: () => this.urlValue,
      peerUrls: () => this.view.snapshot.members.filter((m) => m.record.id !== this.id).map((m) => m.record.url),
      handoverMs: () => this.election?.leaseMs ?? 0,
      readyToServe: () => this.admission.releaseHeld(),
    });
    for (const [method, handler] of Object.entries(replication.handlers())) this.rpc.register(method, handler);
    return replication;
  }

  /**
   * Listens, connects to ZooKeeper, registers and (primary/backup) joins the election. If any step
   * fails (ZooKeeper unreachable within the session's startTimeoutMs, QUOTA_EXCEEDED, NO_AUTH...) it
   * reports a "start-failed" fault, releases everything it opened (listener, session, watches,
   * timers) so the process can exit, and rejects with the typed error (ZkError, CoordinationError...).
   */
  async start(): Promise<{ url: string }> {
    if (this.roleValue !== 'starting' || this.starting) throw new ZkHaError('ALREADY_STARTED', `member ${this.id}: start() may be called once`);
    this.starting = true;
    // close() may come while start() awaits (a SIGTERM handler): each step then stops here, and
    // abortStart undoes what was done — a member registered after close() left would stay there.
    const stillStarting = (): void => {
      // (Not "still starting": an election may have made this member primary meanwhile.)
      if (this.roleValue === 'stopping' || this.roleValue === 'stopped') throw new ZkHaError('CLOSED', `member ${this.id}: closed during start()`);
    };
    try {
      const { port } = await this.rpc.listen();
      stillStarting();
      const scheme = this.options.transport?.tls ? 'wss' : 'ws';
      const host = this.listenHost;
      this.urlValue = this.options.advertiseUrl ?? `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
      if (this.httpOption === undefined) {
        this.httpUrlValue = this.urlValue.replace(/^ws/, 'http');
      } else if (this.httpOption !== false && this.httpSurface) {
        try {
          this.httpUrlValue = await this.httpSurface.listen(this.httpOption);
        } catch (error) {
          throw new RpcError('UNAVAILABLE', `cannot listen for HTTP (option http): ${(error as Error).message}`, { cause: error });
        }
      }
      stillStarting();
      await this.membership.update({ url: this.urlValue, http: this.httpUrlValue });
      this.wireEvents();
      await this.session.start();
      stillStarting();
      await this.view.start();
      stillStarting();
      this.election?.start();
      await this.membership.register();
      stillStarting();
    } catch (error) {
      await this.abortStart(error);
      throw error;
    }
    if (!this.election) this.setRole('member');
    else if (this.election.epoch === undefined) this.setRole('backup');
    return { url: this.urlValue };
  }

  /** Undoes a failed start(): nothing may keep the process alive or hold the port. */
  private async abortStart(error: unknown): Promise<void> {
    const code = error instanceof ZkHaError ? error.code : 'INTERNAL';
    this.faults.report('start-failed', { detail: { code, message: error instanceof Error ? error.message : String(error) } });
    this.setRole('stopping');
    this.election?.stop();
    await this.membership.leave().catch(() => undefined);
    this.view.stop();
    await this.rpc.close({ graceMs: 0 }).catch(() => undefined);
    await this.httpSurface?.close().catch(() => undefined);
    if (this.ownsSession) await this.session.close().catch(() => undefined);
    this.setRole('stopped');
  }

  /**
   * Graceful handover: stop serving as primary first (calls now get NOT_PRIMARY), then give up the
   * node so the next in line is elected; this member rejoins at the back of the line.
   */
  async stepDown(): Promise<void> {
    if (!this.election) return;
    const until = monotonicMs() + this.graceMs;
    await this.election.resign({ rejoin: true, beforeRelease: () => this.drain(until), successor: this.nextInView() });
  }

  /** The member node right behind ours in this server's view: the release names it (no listing on the handover's path). */
  private nextInView(): string | undefined {
    const own = this.membership.node;
    if (!own) return undefined;
    return this.view.snapshot.members.find((m) => m.sequence > own.sequence)?.name;
  }

  /** Leaves the group first (clients stop sending), finishes in-flight calls within the grace period, then closes. */
  async close(opts: { graceMs?: number } = {}): Promise<void> {
    if (this.roleValue === 'stopped' || this.roleValue === 'stopping') return;
    this.setRole('stopping');
    try {
      const graceMs = opts.graceMs ?? this.graceMs;
      const until = monotonicMs() + graceMs;
      if (this.election) await this.election.resign({ rejoin: false, beforeRelease: () => this.drain(until), successor: this.nextInView() }).catch(() => undefined);
      else await this.membership.leave().catch(() => undefined);
      this.view.stop();
      this.replication?.demoted('closed');
      await this.admission.quietPeriod(until);
      await this.rpc.close({ graceMs: Math.max(0, Math.floor(until - monotonicMs())) });
      await this.httpSurface?.close();
      await this.faults.flush();
    } finally {
      if (this.ownsSession) await this.session.close();
      this.setRole('stopped');
    }
  }

  /** Waits until no call is in flight (bounded): a successor must not run while the old primary still does. */
  private drain(until: number): Promise<void> {
    // Woken by the last call's end, not by polling: the release follows it at once.
    return this.rpc.idle(until - monotonicMs());
  }

  /** Role changes, the NOT_PRIMARY hint and replication follow the view and the election. */
  private wireEvents(): void {
    reportCoordinationFaults(this.faults, { session: this.session, membership: this.membership, view: this.view, election: this.election });
    this.view.on('primary', ({ member }) => this.admission.primaryIs(member));
    this.view.on('change', ({ snapshot }) => {
      this.admission.primaryIs(snapshot.primary);
      this.replication?.membersChanged();
      this.options.metrics?.setMembers(this.service, snapshot.members.length);
    });
    this.membership.on('registered', () => {
      if (!this.election) this.setRole('member');
    });
    this.election?.on('elected', ({ epoch }) => {
      this.admission.elected();
      this.setRole('primary');
      this.replication?.elected(epoch);
      this.options.metrics?.setEpoch(this.service, epoch);
      this.faults.report('elected', { detail: { epoch, url: this.urlValue } });
      this.emit('elected', { epoch });
    });
    this.election?.on('demoted', (info) => {
      if (info.reason === 'resigned') {
        // Our successor: the next valid member after us in our view (it is told of the release next).
        this.admission.resigned(this.view.snapshot.members.find((m) => m.sequence > info.epoch && m.record.id !== this.id));
      } else {
        this.admission.releaseHeld();
      }
      this.replication?.demoted(info.reason);
      if (this.roleValue === 'primary') this.setRole('backup');
      this.faults.report('demoted', { detail: { ...info } });
      this.emit('demoted', info);
    });
  }

  private setRole(role: HaServerRole): void {
    if (this.roleValue === role) return;
    if ((this.roleValue === 'stopping' || this.roleValue === 'stopped') && role !== 'stopped') return;
    this.roleValue = role;
    if (role === 'stopping') this.admission.releaseHeld();
    this.emit('role', role);
  }
}

function newMembership(session: ZkSession, options: ConstructorParameters<typeof Membership>[1]): Membership {
  try {
    return new Membership(session, options);
  } catch (error) {
    if (error instanceof CoordinationError && error.code === 'BAD_MEMBER_RECORD') {
      const option = /bytes exceeds/.test(error.message) ? 'meta' : /"(\w+)"/.exec(error.message)?.[1] ?? 'record';
      throw new InvalidOptionError(option === 'url' ? 'advertiseUrl' : option, error.message);
    }
    throw error;
  }
}

/** Wraps a handler to record its outcome and latency (only when metrics are configured). */
function measured<P, R>(service: string, method: string, handler: Handler<P, R>, metrics: HaMetrics): Handler<P, R> {
  return async (params, ctx) => {
    const t0 = monotonicMs();
    try {
      const result = await handler(params, ctx);
      metrics.call(service, 'server', method, 'OK', (monotonicMs() - t0) / 1000);
      return result;
    } catch (error) {
      metrics.call(service, 'server', method, error instanceof RpcError ? error.code : 'INTERNAL', (monotonicMs() - t0) / 1000);
      throw error;
    }
  };
}
