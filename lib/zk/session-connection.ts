import { EventEmitter } from 'events';
import * as nzc from 'node-zookeeper-client';
import type { Client, Event as RawEvent } from 'node-zookeeper-client';
import { monotonicMs } from '../base/clock';
import { abandonConnection, CM_STATES, disposeClient, internalState } from './client-internals';
import { applyClientFixes, MALFORMED_REPLY_EVENT } from './client-fixes';
import type { MalformedReplyInfo } from './client-fixes';
import { startTicking, stopTicking } from './session-ticker';
import { ResolvedSessionOptions, resolveSessionOptions, ZkSessionOptions } from './session-options';
import type { LostReason, WatchEvent, WatchFn, ZkSessionEvents, ZkSessionState, ZkStats } from './session-types';
import { isServerAnswer, toZkError, ZkError } from './zk-error';

// Every user of lib/zk gets node-zookeeper-client's runtime fixes before the first client exists.
applyClientFixes();

const NO_SESSION = '0000000000000000';

type RawWatcher = (event: Pick<RawEvent, 'type' | 'path'>) => void;

const EVENT_TYPES: Record<number, WatchEvent['type']> = {
  [nzc.Event.NODE_CREATED]: 'created',
  [nzc.Event.NODE_DELETED]: 'deleted',
  [nzc.Event.NODE_DATA_CHANGED]: 'dataChanged',
  [nzc.Event.NODE_CHILDREN_CHANGED]: 'childrenChanged',
};

/**
 * A request in flight: settles once — answered, failed, timed out, or failed with the session. Its
 * timeout is checked by the session's tick (at most one tick period late), not by a timer of its
 * own: every watching client issues a request per join it reads, and a timer per request costs
 * Node's timer-list bookkeeping twice (arm, clear) on the hot path.
 */
class PendingRequest {
  settled = false;
  readonly generation: number;
  readonly sentAt = monotonicMs();
  readonly deadline: number;
  readonly timeoutMs: number;

  constructor(
    private readonly owner: SessionConnection,
    private readonly op: string,
    private readonly path: string | undefined,
    readonly isWrite: boolean,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: ZkError) => void,
  ) {
    this.generation = owner.currentGeneration;
    this.timeoutMs = owner.options.requestTimeoutMs ?? owner.sessionTimeoutMs;
    this.deadline = this.sentAt + this.timeoutMs;
  }

  answer(error: unknown, result: unknown): void {
    if (this.settled) return;
    if (isServerAnswer(error)) this.owner.answered(this);
    if (error) {
      this.fail(toZkError(error, this.op, this.path));
      return;
    }
    this.settled = true;
    this.owner.forget(this);
    this.resolve(result);
  }

  fail(error: ZkError): void {
    if (this.settled) return;
    this.settled = true;
    this.owner.forget(this);
    this.reject(error);
  }

  describe(): string {
    return `${this.op}${this.path ? ` ${this.path}` : ''}`;
  }

  get where(): string | undefined {
    return this.path;
  }
}

function timedOut(pending: PendingRequest): void {
  pending.fail(new ZkError('TIMEOUT', `${pending.describe()}: no answer within ${pending.timeoutMs} ms (outcome unknown)`, { path: pending.where }));
}

/**
 * The connection under a ZkSession: the connect / suspend / reconnect / lost state machine over
 * node-zookeeper-client, the request wrapper (timeouts, failing what waits on a lost session), the
 * read-timeout watchdog, the local expiry timer, a new session after expiry, and the lease clock.
 * ZkSession adds the znode operations on top.
 *
 * Lease clock: `confirmedAt` is the monotonic time at which the latest request the ensemble leader
 * answered was SENT. ZooKeeper cannot expire the session before `confirmedAt + timeout` (the leader
 * heard from us no earlier than that send), so `leaseHolds(f)` = `now - confirmedAt < timeout * f` proves the
 * session — and every ephemeral node it owns — is still alive.
 */
export abstract class SessionConnection extends EventEmitter<ZkSessionEvents> {
  readonly options: ResolvedSessionOptions;
  readonly stats: ZkStats = { reads: 0, writes: 0, watchEvents: 0, probes: 0, abandonedConnections: 0, malformedReplies: 0 };

  private client: Client | undefined;
  protected generation = 0;
  protected currentState: ZkSessionState = 'idle';
  private currentSessionId = NO_SESSION;
  protected negotiatedTimeoutMs: number;
  private everConnected = false;
  private confirmed = Number.NEGATIVE_INFINITY;
  private connectedAtValue = Number.POSITIVE_INFINITY;
  private lastHeardAt = Number.NEGATIVE_INFINITY;
  private suspendedAt = 0;
  private connectingSince = Number.NaN;
  private probeInFlight = false;
  private lastProbeAt = Number.NEGATIVE_INFINITY;
  /** The tick period while started (session-ticker.ts); undefined before start() and after close(). */
  private tickMs: number | undefined;
  private readonly pending = new Set<PendingRequest>();
  /** wrapWatch()'s wrappers of the current client. */
  private wrappers: { client: Client | undefined; byWatch: WeakMap<WatchFn, RawWatcher> } = { client: undefined, byWatch: new WeakMap() };
  private startPromise: Promise<void> | undefined;
  private malformedReported = Number.NEGATIVE_INFINITY;
  private malformedHeld: (MalformedReplyInfo & { count: number }) | undefined;

  constructor(options: ZkSessionOptions) {
    super();
    this.options = resolveSessionOptions(options);
    this.negotiatedTimeoutMs = this.options.sessionTimeoutMs;
    // Many memberships, views and elections may share one session, each listening to its events.
    this.setMaxListeners(1000);
  }

  get state(): ZkSessionState {
    return this.currentState;
  }
  /** 16 hex digits; "0000000000000000" before the first session. */
  get sessionId(): string {
    return this.currentSessionId;
  }
  /** The timeout ZooKeeper granted (it may differ from the one requested). */
  get sessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }
  /** @internal Which client (session generation) requests are issued on now. */
  get currentGeneration(): number {
    return this.generation;
  }
  /** Monotonic send time of the latest answered request of the current session. */
  get confirmedAt(): number {
    return this.confirmed;
  }
  /** Monotonic time since which the connection has been up without a break; +Infinity while cut off. */
  get connectedSince(): number {
    return this.currentState === 'connected' ? this.connectedAtValue : Number.POSITIVE_INFINITY;
  }
  /** Session id and password of the current session, e.g. to expire it in a test. */
  get credentials(): { sessionId: Buffer; password: Buffer } | undefined {
    if (!this.client || this.currentSessionId === NO_SESSION) return undefined;
    return { sessionId: this.client.getSessionId(), password: this.client.getSessionPassword() };
  }

  /** True while the session provably lives: `now - confirmedAt < sessionTimeout * fraction`. */
  leaseHolds(leaseFraction: number, now = monotonicMs()): boolean {
    return this.leaseRemainingMs(leaseFraction, now) > 0;
  }

  leaseRemainingMs(leaseFraction: number, now = monotonicMs()): number {
    if (this.currentState !== 'connected' && this.currentState !== 'suspended') return 0;
    return this.confirmed + this.negotiatedTimeoutMs * leaseFraction - now;
  }

  /** Connects; resolves once the first session is established. Safe to call more than once. */
  start(): Promise<void> {
    if (this.currentState === 'closed') return Promise.reject(new ZkError('CLOSED', 'session is closed', { sent: false }));
    if (this.startPromise) return this.startPromise;
    this.startPromise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        const error = new ZkError(
          'TIMEOUT',
          `no ZooKeeper session within ${this.options.startTimeoutMs} ms (connect "${this.options.connect}")`,
          { sent: false },
        );
        void this.close().finally(() => reject(error));
      }, this.options.startTimeoutMs);
      const onConnected = (): void => { cleanup(); resolve(); };
      const onClosed = (): void => { cleanup(); reject(new ZkError('CLOSED', 'session closed before it connected', { sent: false })); };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('connected', onConnected);
        this.off('closed', onClosed);
      };
      this.on('connected', onConnected);
      this.on('closed', onClosed);
    });
    this.setState('connecting');
    this.openClient();
    // Request timeouts are checked on the tick too: a short requestTimeoutMs ticks faster.
    const shortest = Math.min(this.options.sessionTimeoutMs, this.options.requestTimeoutMs ?? Number.POSITIVE_INFINITY);
    const tickMs = Math.max(10, Math.min(100, Math.floor(shortest / 20)));
    this.tickMs = tickMs;
    startTicking(this, tickMs);
    return this.startPromise;
  }

  /** Closes the session (its ephemeral nodes go at once when connected). Safe in every state. */
  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.setState('closed');
    if (this.tickMs !== undefined) stopTicking(this, this.tickMs);
    this.tickMs = undefined;
    this.failPending(new ZkError('CLOSED', 'session closed', { sent: false }));
    const client = this.client;
    this.client = undefined;
    this.generation++;
    if (client) await disposeClient(client, 1000);
    this.emit('closed');
  }

  // ---- internals --------------------------------------------------------------------------

  /** The request that keeps the lease clock and the watchdog fed ('write': leader-ordered; 'read'). */
  protected abstract sendProbe(): Promise<unknown>;

  /** @internal node-zookeeper-client types stay out of the published declarations. */
  protected request<T>(
    op: string,
    path: string | undefined,
    isWrite: boolean,
    issue: (client: Client, cb: (error: unknown, result: T | undefined) => void) => void,
  ): Promise<T> {
    const client = this.client;
    if (!client || this.currentState === 'closed') {
      return Promise.reject(new ZkError('CLOSED', `${op}${path ? ` ${path}` : ''}: session is closed`, { path, sent: false }));
    }
    if (isWrite) this.stats.writes++;
    else this.stats.reads++;
    return new Promise<T>((resolve, reject) => {
      // One object and one callback per request: every watching client issues one per change it reads.
      const pending = new PendingRequest(this, op, path, isWrite, resolve as (value: unknown) => void, reject);
      this.pending.add(pending);
      try {
        issue(client, (error, result) => pending.answer(error, result));
      } catch (error) {
        pending.fail(toZkError(error, op, path));
      }
    });
  }

  /** @internal A PendingRequest was answered by a server (see heard()). */
  answered(pending: PendingRequest): void {
    this.pending.delete(pending);
    if (pending.generation === this.generation) this.heard(pending.sentAt, pending.isWrite);
  }

  /** @internal A PendingRequest settled without an answer, or with an error. */
  forget(pending: PendingRequest): void {
    this.pending.delete(pending);
  }

  /**
   * A server answered. Any answer proves the connection alive (watchdog, local expiry timer). Only
   * an answer the ensemble LEADER produced renews the lease: writes pass the leader's session
   * check, while a follower keeps answering reads for a session the leader has already expired
   * until it applies the closeSession — a resumed ex-primary must not renew its lease that way.
   * Sessions that hold no lease ('read' probes) count every answer.
   */
  private heard(sentAt: number, leaderOrdered: boolean): void {
    this.lastHeardAt = monotonicMs();
    if ((leaderOrdered || this.options.leaseProbe === 'read') && sentAt > this.confirmed) this.confirmed = sentAt;
  }

  /** @internal node-zookeeper-client types stay out of the published declarations. */
  protected wrapWatch(client: Client, watch: WatchFn | undefined): RawWatcher | undefined {
    if (!watch) return undefined;
    // One wrapper per watch function and client: node-zookeeper-client drops a watcher already
    // registered on a path only by identity, so a fresh wrapper per request would pile up one
    // callback per read for as long as the node does not change (a re-read loop: thousands).
    let wrappers = this.wrappers;
    if (wrappers.client !== client) wrappers = this.wrappers = { client, byWatch: new WeakMap() };
    const known = wrappers.byWatch.get(watch);
    if (known) return known;
    const generation = this.generation;
    const wrapped: RawWatcher = (event) => {
      // Watches of a replaced client never fire again; a stray one from it must not reach owners.
      if (generation !== this.generation || client !== this.client) return;
      this.stats.watchEvents++;
      this.lastHeardAt = monotonicMs();
      const type = EVENT_TYPES[event.type];
      if (type) watch({ type, path: event.path });
    };
    wrappers.byWatch.set(watch, wrapped);
    return wrapped;
  }

  private openClient(): void {
    const generation = ++this.generation;
    const client = nzc.createClient(this.options.connect, {
      sessionTimeout: this.options.sessionTimeoutMs,
      spinDelay: this.options.spinDelayMs,
      retries: 0,
    });
    this.client = client;
    const cm = client.connectionManager as typeof client.connectionManager & { zkhaMaxReplyBytes?: number };
    cm.zkhaMaxReplyBytes = this.options.maxReplyBytes;
    cm.on(MALFORMED_REPLY_EVENT, (info: MalformedReplyInfo) => {
      if (generation === this.generation) this.onMalformedReply(info);
    });
    for (const a of this.options.auth) client.addAuthInfo(a.scheme, Buffer.from(a.credentials));
    const mine = (fn: () => void) => () => {
      if (generation === this.generation && this.currentState !== 'closed') fn();
    };
    client.on('connected', mine(() => this.onConnected(client)));
    client.on('connectedReadOnly', mine(() => this.onConnected(client)));
    client.on('disconnected', mine(() => this.onDisconnected()));
    client.on('expired', mine(() => this.onLost('expired')));
    client.on('authenticationFailed', mine(() => this.onLost('auth-failed')));
    client.connectionManager.on('state', (state: number) => {
      if (generation !== this.generation) return;
      this.connectingSince = state === CM_STATES.CONNECTING ? monotonicMs() : Number.NaN;
    });
    // An error event without a listener would crash the process.
    client.on('error', () => undefined);
    client.connect();
  }

  private onConnected(client: Client): void {
    const now = monotonicMs();
    this.lastHeardAt = now;
    this.connectedAtValue = now;
    this.negotiatedTimeoutMs = client.getSessionTimeout();
    const sessionId = client.getSessionId().toString('hex');
    const info = { sessionId, timeoutMs: this.negotiatedTimeoutMs };
    const previousState = this.currentState;
    const previousSessionId = this.currentSessionId;
    this.currentSessionId = sessionId;
    this.setState('connected');
    this.probe();
    if (!this.everConnected) {
      this.everConnected = true;
      this.emit('connected', info);
    } else if (previousState === 'lost') {
      this.emit('session', { ...info, previousSessionId });
    } else if (previousState === 'suspended') {
      this.emit('reconnected', { ...info, downMs: now - this.suspendedAt });
    }
  }

  private onDisconnected(): void {
    if (this.currentState !== 'connected') return;
    this.suspendedAt = monotonicMs();
    this.setState('suspended');
    this.emit('suspended', { sessionId: this.currentSessionId });
  }

  /** The session is gone: fail what waits on it, throw the client away, open a new session. */
  private onLost(reason: LostReason): void {
    if (this.currentState === 'closed' || this.currentState === 'lost') return;
    const sessionId = this.currentSessionId;
    const old = this.client;
    this.confirmed = Number.NEGATIVE_INFINITY;
    this.setState('lost');
    this.failPending(new ZkError('SESSION_EXPIRED', `session ${sessionId} lost (${reason})`));
    if (old) void disposeClient(old, 200);
    this.emit('lost', { sessionId, reason });
    // A 'lost' listener may have closed the session.
    if ((this.currentState as ZkSessionState) === 'lost') this.openClient();
  }

  /** Rate-limited: one event per second at most, later ones counted into the next. */
  private onMalformedReply(info: MalformedReplyInfo): void {
    this.stats.malformedReplies++;
    this.malformedHeld = { ...info, count: (this.malformedHeld?.count ?? 0) + 1 };
    this.flushMalformed(monotonicMs());
  }

  private flushMalformed(now: number): void {
    const held = this.malformedHeld;
    if (!held || now - this.malformedReported < 1000) return;
    this.malformedHeld = undefined;
    this.malformedReported = now;
    this.emit('malformedReply', held);
  }

  /** Fails the requests whose timeout has passed (see PendingRequest). */
  private expireRequests(now: number): void {
    for (const p of this.pending) if (now >= p.deadline) timedOut(p);
  }

  private failPending(error: ZkError): void {
    for (const p of [...this.pending]) p.fail(error);
  }

  /** @internal Lease probe, read-timeout watchdog and local expiry timer, on one coarse timer (session-ticker.ts). */
  tick(): void {
    const client = this.client;
    if (!client || this.currentState === 'closed') return;
    const now = monotonicMs();
    if (this.pending.size > 0) this.expireRequests(now);
    this.flushMalformed(now);
    const timeout = this.negotiatedTimeoutMs;
    if (this.currentState === 'connected') {
      if (this.probeInFlight && now - this.lastHeardAt > timeout * this.options.readTimeoutFraction) {
        // A frozen or silent server: node-zookeeper-client would wait forever. Move to the next one.
        this.stats.abandonedConnections++;
        this.lastHeardAt = now;
        abandonConnection(client);
        return;
      }
      if (!this.probeInFlight && now - this.lastProbeAt >= timeout * this.options.probeFraction) this.probe();
    } else if (this.currentState === 'suspended') {
      // ZooKeeper never tells a cut-off client that its session expired: assume it after a full timeout.
      if (now - this.lastHeardAt >= timeout) this.onLost('timeout');
    }
    // The client waits forever for the answer to its ConnectRequest from a server that accepted TCP and froze.
    if (!Number.isNaN(this.connectingSince) && internalState(client) === CM_STATES.CONNECTING) {
      // Each server of the connect string gets its share; before the first session the shares must
      // fit in startTimeoutMs, or one silent server eats the whole start (and the CLI's --timeout).
      const budget = this.everConnected ? timeout : Math.min(timeout, this.options.startTimeoutMs);
      const perServer = Math.max(250, budget / Math.max(1, this.options.servers.length));
      if (now - this.connectingSince > perServer) {
        this.connectingSince = now;
        this.stats.abandonedConnections++;
        abandonConnection(client);
      }
    }
  }

  private probe(): void {
    if (this.probeInFlight) return;
    this.probeInFlight = true;
    this.lastProbeAt = monotonicMs();
    this.stats.probes++;
    const generation = this.generation;
    const done = (): void => {
      if (generation === this.generation) this.probeInFlight = false;
    };
    const probe = this.sendProbe();
    probe.then(done, done);
  }

  private setState(next: ZkSessionState): void {
    const previous = this.currentState;
    if (previous === next) return;
    this.currentState = next;
    if (next !== 'connected') this.probeInFlight = false;
    this.emit('state', next, previous);
  }
}
