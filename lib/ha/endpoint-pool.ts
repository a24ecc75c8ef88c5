import { setMaxListeners } from 'node:events';
import { monotonicMs } from '../base/clock';
import { InvalidOptionError } from '../base/errors';
import { objectOption, prefixOptionErrors } from '../base/options';
import type { Member } from '../coordination';
import { transportFaultKind } from '../ops/fault-reporter';
import type { FaultReporter } from '../ops/fault-reporter';
import { createBalancer, createEndpoint, HealthSet, recordLatency } from '../routing';
import type { Balancer, BalancerName, HealthEvent, HealthOptions, Picker, RoutedEndpoint } from '../routing';
import { clientSettings, RpcConnection } from '../transport';
import type { RpcError } from '../transport';
import type { DownEvent, RpcConnectionOptions, RpcResponse } from '../transport';
import { judgesEndpoint } from '../base/error-codes';
import type { AttemptOptions, AttemptResult, CallPool, CallTarget } from './call-pool';
import { asRpcError, memberLeft } from './call-errors';

/** One member as the client routes to it: its connection and its load/latency stats. */
export class PoolEndpoint implements CallTarget {
  constructor(
    member: Member,
    readonly routed: RoutedEndpoint,
    readonly connection: RpcConnection,
    /** Aborted when the member leaves the group: idempotent calls in flight to it are sent elsewhere. */
    readonly left: AbortSignal,
  ) {
    this.memberValue = member;
  }
  private memberValue: Member;
  get name(): string {
    return this.memberValue.name;
  }
  get member(): Member {
    return this.memberValue;
  }
  get id(): string {
    return this.memberValue.record.id;
  }
  get up(): boolean {
    return this.connection.state === 'up';
  }
  get refused(): RpcError | undefined {
    return this.connection.refused;
  }
  /** The same member (same node, same URL) with an updated record. */
  updated(member: Member): void {
    this.memberValue = member;
    this.routed.weight = member.record.weight;
  }
}

export type ConnectionSettings = Omit<RpcConnectionOptions, 'url'>;

/**
 * The client's endpoints: one multiplexed connection per member (closed when the member leaves),
 * passive health with ejection and probing, and an immutable picker rebuilt on every membership,
 * connection or health change so that pick() stays O(1)/O(log n) and allocation-free.
 */
export class EndpointPool implements CallPool<PoolEndpoint> {
  private readonly endpoints = new Map<string, PoolEndpoint>();
  private readonly leaving = new Map<PoolEndpoint, AbortController>();
  private readonly health: HealthSet;
  private readonly balancer: Balancer;
  private picker: Picker;
  /** Some endpoint is ejected, probing or down: set by rebuild(), which every such change runs. */
  private outOfRotation = false;
  /** Routing to ejected members because none serves (said once per episode). */
  private panicking = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly connection: ConnectionSettings,
    balancer: BalancerName,
    health: HealthOptions,
    private readonly faults: FaultReporter,
    random?: () => number,
    private readonly drainMs = 30_000,
  ) {
    validateConnectionSettings(connection);
    this.balancer = createBalancer(balancer, { random });
    objectOption('health', health);
    this.health = prefixOptionErrors('health', () => new HealthSet({ ...health, random: health?.random ?? random }));
    this.picker = this.balancer.build([]);
  }

  get size(): number {
    return this.endpoints.size;
  }

  all(): IterableIterator<PoolEndpoint> {
    return this.endpoints.values();
  }

  get(name: string): PoolEndpoint | undefined {
    return this.endpoints.get(name);
  }

  byUrl(url: string): PoolEndpoint | undefined {
    for (const ep of this.endpoints.values()) if (ep.member.record.url === url) return ep;
    return undefined;
  }

  /** Called on any change that may let a waiting call proceed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Brings the pool in line with the membership: connect to joiners, close leavers. */
  update(members: readonly Member[]): void {
    if (this.closed) return;
    const present = new Set<string>();
    for (const member of members) {
      present.add(member.name);
      const existing = this.endpoints.get(member.name);
      if (existing && existing.member.record.url === member.record.url) {
        existing.updated(member);
        continue;
      }
      if (existing) this.drop(existing);
      this.add(member);
    }
    for (const ep of [...this.endpoints.values()]) if (!present.has(ep.name)) this.drop(ep);
    this.health.retain(present);
    this.rebuild();
  }

  /** The balancer's choice among serving endpoints; a probing endpoint gets one probe call when due. */
  pick(key: string | undefined, avoid?: ReadonlySet<string>): PoolEndpoint | undefined {
    // Looking for a due probe walks every endpoint: only worth it while one is out of rotation.
    // Never one the caller avoids (it already tried it): the slot would be held, unused, for probeTimeoutMs.
    if (this.outOfRotation) {
      const probe = this.health.acquireProbe(monotonicMs(), avoid);
      if (probe !== undefined) {
        const ep = this.endpoints.get(probe);
        if (ep && ep.connection.state === 'up') return ep;
        this.health.get(probe)?.releaseProbe();
      }
    }
    const routed = this.picker.pick(key);
    return routed ? this.endpoints.get(routed.id) : undefined;
  }

  /** The refusal every member gave, when all of them refused this client for good (e.g. a wrong token). */
  refusedEverywhere(): RpcError | undefined {
    let refusal: RpcError | undefined;
    for (const ep of this.endpoints.values()) {
      const r = ep.connection.refused;
      if (!r) return undefined;
      refusal ??= r;
    }
    return refusal;
  }

  /** Whether `ep` may take normal traffic (connected, not ejected). */
  serving(ep: PoolEndpoint): boolean {
    return ep.connection.state === 'up' && this.health.get(ep.name)?.serving !== false;
  }

  /**
   * One attempt on one member with its bookkeeping: outstanding count, latency, passive health
   * (failures judged by the error-code table). An idempotent attempt to a member that leaves the
   * group is cancelled there (a frozen primary whose session expired, say) instead of waiting for
   * a heartbeat timeout, and fails UNAVAILABLE so that it may go elsewhere.
   */
  async attempt<R>(ep: PoolEndpoint, method: string, params: unknown, opts: AttemptOptions, signal: AbortSignal | undefined, deadline: number): Promise<AttemptResult<R>> {
    const t0 = monotonicMs();
    const idempotent = opts.idempotent === true;
    if (idempotent && ep.left.aborted) throw memberLeft(ep.id);
    ep.routed.outstanding++;
    let response: RpcResponse<R>;
    try {
      // An idempotent call is also cancelled when the member leaves (then retried elsewhere).
      response = await ep.connection.call<R>(method, params, {
        timeoutMs: Math.max(0, deadline - t0), signal, alsoCancelOn: idempotent ? ep.left : undefined, meta: opts.meta,
      });
    } catch (error) {
      let e = asRpcError(error);
      if (e.code === 'CANCELLED' && ep.left.aborted && !signal?.aborted) e = memberLeft(ep.id);
      ep.routed.outstanding--;
      if (judgesEndpoint(e.code, e.notExecuted)) this.failed(ep);
      else this.health.get(ep.name)?.releaseProbe();
      throw e;
    }
    ep.routed.outstanding--;
    this.succeeded(ep, (monotonicMs() - t0) * 1000);
    return { result: response.result, epoch: response.epoch, member: ep.id, attempts: 1 };
  }

  private succeeded(ep: PoolEndpoint, latencyUs: number): void {
    if (this.endpoints.get(ep.name) !== ep) return; // left meanwhile: no health to keep
    const now = monotonicMs();
    recordLatency(ep.routed, latencyUs, now);
    this.onHealth(this.health.onSuccess(ep.name, now), ep);
  }

  /** A failure that says something about the endpoint (not the caller's fault or the handler's). */
  private failed(ep: PoolEndpoint): void {
    if (this.endpoints.get(ep.name) !== ep) return;
    this.onHealth(this.health.onFailure(ep.name, monotonicMs()), ep);
  }

  /** Resolves when some endpoint is connected, or after `timeoutMs` (start-up nicety, never fails). */
  waitAnyUp(timeoutMs: number): Promise<void> {
    const anyUp = (): boolean => [...this.endpoints.values()].some((ep) => ep.connection.state === 'up');
    if (anyUp() || this.endpoints.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      const off = this.onChange(() => { if (anyUp()) finish(); });
      function finish(): void { clearTimeout(timer); off(); resolve(); }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    const all = [...this.endpoints.values()];
    this.endpoints.clear();
    await Promise.all(all.map((ep) => ep.connection.close().catch(() => undefined)));
  }

  private add(member: Member): void {
    const connection = new RpcConnection(memberConnectionOptions(this.connection, member.record.url));
    const left = new AbortController();
    // Every idempotent call in flight to this member listens on it (removed when the call
    // settles, so bounded by the calls in flight): past 10, Node would warn of a leak.
    setMaxListeners(0, left.signal);
    const ep = new PoolEndpoint(member, createEndpoint(member.name, member.record.url, member.record.weight, member.record.zone), connection, left.signal);
    this.leaving.set(ep, left);
    this.endpoints.set(member.name, ep);
    this.health.add(member.name);
    connection.on('up', () => {
      if (this.endpoints.get(ep.name) !== ep) return;
      this.onHealth(this.health.markUp(ep.name, monotonicMs()), ep);
      this.rebuild();
    });
    connection.on('down', (e: DownEvent) => {
      if (this.endpoints.get(ep.name) !== ep) return;
      const t = this.health.markDown(ep.name, monotonicMs(), e.reason);
      if (t) this.faults.report('endpoint-down', { member: member.record.id, detail: { url: member.record.url, reason: e.reason } });
      this.rebuild();
    });
    connection.on('fault', (f: { code: string; message: string }) => {
      const kind = transportFaultKind(f.code, 'client');
      if (kind) this.faults.report(kind, { member: member.record.id, detail: { ...f } });
    });
    connection.connect().catch(() => undefined); // failures retry with backoff; 'down' reports them
  }

  /**
   * A member left: route nothing new to it, but let calls already on its connection finish (a
   * primary that steps down still answers them) before closing — closing at once would turn them
   * into "outcome unknown" failures.
   */
  private drop(ep: PoolEndpoint): void {
    this.endpoints.delete(ep.name);
    this.health.remove(ep.name);
    this.leaving.get(ep)?.abort();
    this.leaving.delete(ep);
    const giveUpAt = monotonicMs() + this.drainMs;
    const closeWhenIdle = (): void => {
      if (ep.connection.outstanding === 0 || monotonicMs() >= giveUpAt || this.closed) {
        void ep.connection.close().catch(() => undefined);
        return;
      }
      setTimeout(closeWhenIdle, 20).unref();
    };
    closeWhenIdle();
  }

  private onHealth(event: HealthEvent | undefined, ep: PoolEndpoint): void {
    if (!event) return;
    const member = ep.member.record.id;
    if (event.to === 'ejected') {
      this.faults.report('endpoint-ejected', { member, detail: { url: ep.member.record.url, reason: event.reason, forMs: event.ejectedForMs } });
    } else if (event.to === 'healthy' && (event.from === 'probing' || event.from === 'ejected')) {
      this.faults.report('endpoint-recovered', { member, detail: { url: ep.member.record.url } });
    }
    this.rebuild();
  }

  private rebuild(): void {
    if (this.closed) return;
    const serving: RoutedEndpoint[] = [];
    for (const ep of this.endpoints.values()) if (this.serving(ep)) serving.push(ep.routed);
    this.outOfRotation = serving.length < this.endpoints.size;
    // Panic routing: every connected member ejected (the others left — a rolling restart — after
    // the guard let one be ejected) would be an outage while they may well serve. Route to all
    // connected ones until one is re-admitted; calls that fail there still count against them.
    let routed = serving;
    if (serving.length === 0) {
      routed = [];
      for (const ep of this.endpoints.values()) if (ep.connection.state === 'up') routed.push(ep.routed);
      if (routed.length > 0 && !this.panicking) {
        this.faults.report('endpoint-ejected', { detail: { panic: true, message: `every connected member is ejected: routing to all ${routed.length} of them until one is re-admitted` } });
      }
    }
    this.panicking = serving.length === 0 && routed.length > 0;
    this.picker = this.balancer.build(routed);
    this.scheduleProbe();
    for (const l of this.listeners) l();
  }

  /** Wakes waiters when an ejection ends, so a probe can go out even with no other traffic. */
  private scheduleProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    const at = this.health.nextProbeAt(monotonicMs());
    if (at === undefined) return;
    this.probeTimer = setTimeout(() => this.rebuild(), Math.max(1, at - monotonicMs()) + 1);
    this.probeTimer.unref();
  }
}

/** Member connections default to a 1 s heartbeat: a frozen member is noticed in 3 s. */
function memberConnectionOptions(settings: ConnectionSettings, url: string): RpcConnectionOptions {
  return { heartbeatMs: 1000, heartbeatTimeoutMs: 3000, ...settings, url };
}

/**
 * The `connection` option is checked when the client is built, as every RpcConnection will check
 * it (a stand-in URL; member URLs are checked by the view): a bad value must fail construction,
 * naming the option, not every connection to a member that joins later.
 */
function validateConnectionSettings(settings: ConnectionSettings): void {
  objectOption('connection', settings);
  // Each member's URL comes from its record: one given here would be overridden in silence.
  if ('url' in settings) throw new InvalidOptionError('connection.url', 'is not an option: each member is reached at the url of its record');
  prefixOptionErrors('connection', () => clientSettings(memberConnectionOptions(settings, 'ws://option-check.invalid:1')));
}
