import { EventEmitter } from 'events';
import { monotonicMs } from '../base/clock';
import { InvalidOptionError } from '../base/errors';
import { fraction, integerInRange } from '../base/options';
import { ZkError, ZkSession } from '../zk';
import { CoordinationError } from './coordination-error';
import { decodeRecord } from './member-record';
import { HeadObserver } from './head-observer';
import type { SkippedNode } from './head-observer';
import { LeaseHolder } from './lease-holder';
import type { Membership, OwnNode } from './membership';
import { leaseNodeName, sortMemberNames } from './paths';
import { SerialTask } from './serial-task';

export type DemotionReason =
  | 'session-lost' | 'lease-lost' | 'resigned' | 'node-deleted' | 'ownership' | 'closed' | 'not-lowest' | 'not-eligible';

export interface ElectionEvents {
  elected: [info: { epoch: number; node: string }];
  demoted: [info: { epoch: number; reason: DemotionReason }];
  /** This member removed a head that stopped renewing (or never served). */
  takeover: [info: { node: string; reason: 'lease-expired' | 'never-served' | 'invalid-record' }];
  /** The head's member record does not parse: not a candidate (it is removed when it blocks the line). */
  invalid: [info: { path: string; error: CoordinationError }];
  /** A ZooKeeper error during an evaluation; it is tried again. */
  error: [error: unknown];
}

export interface ElectionOptions {
  /** The primary's lease (ms): it renews every lease/3 and serves until sendTime(last renewal) + lease. Default 500. */
  readonly leaseMs?: number;
  /**
   * Clock-rate allowance: a successor waits lease × (1 + driftMargin) on its own clock without a
   * renewal before it takes over. Must exceed the worst relative rate error of two hosts' monotonic
   * clocks (twice it, to be exact). Default 0.1.
   */
  readonly driftMargin?: number;
  /**
   * Extra guard kept from the session lease: also serve only while `now - confirmedAt <
   * sessionTimeout × leaseFraction`. Default 0.5.
   */
  readonly leaseFraction?: number;
  /**
   * Asked before this member takes the lease (e.g. "am I in the in-sync set?"): while it answers
   * false this member, though first in line, does not serve; it asks again every lease/3 and its
   * successor removes it once the no-lease grace has passed. An exception counts as false.
   */
  readonly isEligible?: () => Promise<boolean> | boolean;
}

export interface ElectionStats {
  /** Predecessor-watch notifications received: one per departure (or new primary) ahead of us, never N. */
  wakeups: number;
  /** Notifications about the head's member and lease node (renewals), received by the second in line only. */
  headEvents: number;
  evaluations: number;
  takeovers: number;
}

/** Defaults (DESIGN.md): fail over in about one lease, ride out GC pauses shorter than it. */
export const DEFAULT_LEASE_MS = 500;
export const DEFAULT_DRIFT_MARGIN = 0.1;

interface Leading {
  readonly epoch: number;
  readonly node: string;
  readonly holder: LeaseHolder;
}

/**
 * Leader election over a Membership with a lease on the primary's own znode (DESIGN.md,
 * "Leadership"). Members line up by sequence; each watches its predecessor, and the second in line
 * watches the head's lease node and takes over when no renewal shows for lease × (1 + margin). The
 * head acts as primary only from max(now, lastPossibleRenewal + lease × (1 + margin)), then creates
 * its lease node and renews it; it serves while the lease holds. The epoch is its sequence.
 */
export class Election extends EventEmitter<ElectionEvents> {
  readonly leaseMs: number;
  readonly driftMargin: number;
  readonly leaseFraction: number;
  readonly stats: ElectionStats = { wakeups: 0, headEvents: 0, evaluations: 0, takeovers: 0 };
  private leading: Leading | undefined;
  private running = false;
  private readonly task = new SerialTask(() => this.evaluate(), (error) => {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    return !(error instanceof ZkError && error.code === 'CLOSED');
  }, 100);
  private watchToken = 0;
  private observer: HeadObserver | undefined;
  /** When this member, first in line, may act as primary (monotonic); per own node. */
  private actAt: { node: string; at: number } | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  /** The predecessor watches armed (per token): a backup observer evaluates on every renewal and must not pile up watches. */
  private predecessorWatch: { key: string; token: number; node: SkippedNode } | undefined;
  /** Invalid records already reported (path@version). */
  private readonly reported = new Set<string>();

  private readonly onRegistered = (): void => this.schedule();
  private readonly onUnregistered = (info: { reason: string }): void => {
    const reason: DemotionReason =
      info.reason === 'session-lost' ? 'session-lost' : info.reason === 'deleted' ? 'node-deleted' : info.reason === 'resign' ? 'resigned' : 'closed';
    this.demote(reason);
    this.schedule();
  };
  private readonly onLost = (): void => {
    this.demote('session-lost');
    this.resetObservation();
  };
  private readonly onNewSession = (): void => {
    this.resetObservation();
    this.schedule();
  };
  private readonly onReconnected = (): void => this.schedule();

  constructor(
    private readonly session: ZkSession,
    private readonly membership: Membership,
    private readonly options: ElectionOptions = {},
  ) {
    super();
    this.leaseMs = integerInRange('leaseMs', options.leaseMs, 20, 600_000, DEFAULT_LEASE_MS);
    this.driftMargin = fraction('driftMargin', options.driftMargin, DEFAULT_DRIFT_MARGIN);
    this.leaseFraction = fraction('leaseFraction', options.leaseFraction, 0.5);
    if (options.isEligible !== undefined && typeof options.isEligible !== 'function') {
      throw new InvalidOptionError('isEligible', 'must be a function');
    }
  }

  /** The epoch while leading, else undefined. */
  get epoch(): number | undefined {
    return this.leading?.epoch;
  }

  /** Lease milliseconds left (0 when not leading). */
  leaseRemainingMs(now = monotonicMs()): number {
    return this.leading ? this.leading.holder.remainingMs(now) : 0;
  }

  /**
   * The check a primary makes before serving each call: elected, and its lease holds now. A
   * primary paused (GC, SIGSTOP) or cut off from ZooKeeper fails it within one lease.
   */
  isLeader(now = monotonicMs()): boolean {
    const leading = this.leading;
    return leading !== undefined && leading.holder.holds(now) && this.session.leaseHolds(this.leaseFraction, now);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.task.start();
    this.membership.on('registered', this.onRegistered);
    this.membership.on('unregistered', this.onUnregistered);
    this.session.on('lost', this.onLost);
    this.session.on('session', this.onNewSession);
    this.session.on('reconnected', this.onReconnected);
    this.schedule();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.membership.off('registered', this.onRegistered);
    this.membership.off('unregistered', this.onUnregistered);
    this.session.off('lost', this.onLost);
    this.session.off('session', this.onNewSession);
    this.session.off('reconnected', this.onReconnected);
    this.clearWake();
    this.task.stop();
    this.resetObservation();
    this.demote('closed');
  }

  /**
   * Hands leadership over: stop leading first (so no call is admitted after this point), run
   * `beforeRelease`, mark the lease released (the successor may then act at once), then give up the
   * node and register again at the back of the line — or leave the group when `rejoin` is false.
   */
  async resign(opts: { rejoin?: boolean; beforeRelease?: () => Promise<void> } = {}): Promise<void> {
    const holder = this.leading?.holder;
    this.demote('resigned', true);
    try {
      // E.g. let calls admitted while leading finish, so the successor never overlaps with them.
      if (opts.beforeRelease) await opts.beforeRelease();
    } finally {
      if (holder) await holder.release();
    }
    if (opts.rejoin === false) {
      this.stop();
      await this.membership.leave();
    } else {
      await this.membership.requeue();
    }
    // The successor has read RELEASED by now or counts from our departure; the node goes.
    if (holder) setTimeout(() => void holder.remove(), this.leaseMs).unref();
  }

  /**
   * Stops leading at once (isLeader() is false from here on). On a handover (`handover`) the holder
   * keeps its node, and may keep renewing while admitted calls drain, until release() marks it.
   */
  private demote(reason: DemotionReason, handover = false): void {
    const was = this.leading;
    if (!was) return;
    this.leading = undefined;
    was.holder.removeAllListeners('ended');
    if (!handover) {
      was.holder.stop();
      void was.holder.remove();
    }
    this.emit('demoted', { epoch: was.epoch, reason });
  }

  private resetObservation(): void {
    this.watchToken++;
    this.observer?.close();
    this.observer = undefined;
    this.actAt = undefined;
  }

  private schedule(): void {
    this.task.schedule();
  }

  /** Wake up at `at` (monotonic) to evaluate again; the earliest request wins. */
  private wakeAtTime(at: number): void {
    if (!this.running || at >= this.wakeAt) return;
    this.clearWake();
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.schedule();
    }, Math.max(0, Math.ceil(at - monotonicMs())));
  }

  private clearWake(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
  }

  private get fullLeaseMs(): number {
    return this.leaseMs * (1 + this.driftMargin);
  }

  private async evaluate(): Promise<void> {
    const own = this.membership.node;
    if (!own || own.sessionId !== this.session.sessionId) return;
    this.stats.evaluations++;
    const { children } = await this.session.children(this.membership.paths.members);
    const learnedAt = monotonicMs();
    if (this.membership.node !== own) return this.schedule();
    const ordered = sortMemberNames(children);
    const index = ordered.findIndex((o) => o.name === own.name);
    if (index === -1) return; // our node is gone: Membership registers again and wakes us
    if (index === 0) return this.evaluateHead(own, learnedAt);
    if (this.leading) this.demote('not-lowest');
    if (this.actAt?.node === own.name) this.actAt = undefined;
    // Nodes ahead of us whose records are invalid are not candidates: look through them. If only
    // such nodes stand between us and the head, we are the head's observer (second in line).
    const skipped: { path: string; version: number }[] = [];
    let ahead = index - 1;
    for (; ahead >= 1; ahead--) {
      const invalid = await this.invalidNode(ordered[ahead]!.name);
      if (!invalid) break;
      skipped.push(invalid);
    }
    if (this.membership.node !== own) return this.schedule();
    if (ahead === 0) return this.observeHead(own, ordered[0]!.name, skipped, 0);
    if (ahead === 1) {
      // Third in line: a backup observer. Should the second (a crashed or idle process) not take
      // over, we remove the head and it together, one lease later than the second would have.
      const head = ordered[0]!.name;
      this.ensureObserver(head);
      const second = await this.watchPredecessor(ordered[1]!.name, head, true);
      if (!second) return;
      return this.observeHead(own, head, [...skipped, second], this.leaseMs);
    }
    this.observer?.close();
    this.observer = undefined;
    await this.watchPredecessor(ordered[ahead]!.name, ordered[ahead - 1]!.name, false);
  }

  /** The node's path and version if its record is invalid (reported once per version); undefined if valid or gone. */
  private async invalidNode(name: string): Promise<{ path: string; version: number } | undefined> {
    const path = `${this.membership.paths.members}/${name}`;
    let got: { data: Buffer; stat: { version: number } };
    try {
      got = await this.session.get(path);
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return undefined;
      throw error;
    }
    try {
      decodeRecord(got.data, path);
      return undefined;
    } catch (error) {
      if (!(error instanceof CoordinationError)) throw error;
      const key = `${path}@${got.stat.version}`;
      if (!this.reported.has(key)) {
        if (this.reported.size > 1000) this.reported.clear();
        this.reported.add(key);
        this.emit('invalid', { path, error });
      }
      return { path, version: got.stat.version };
    }
  }

  /** Second in line: watch the head's lease; remove the head once it has not renewed for lease × (1 + margin). */
  private ensureObserver(name: string): HeadObserver {
    if (this.observer?.name !== name) {
      this.watchToken++; // predecessor watches from when we were further back are stale now
      this.predecessorWatch = undefined;
      this.observer?.close();
      this.observer = new HeadObserver(this.session, this.membership.paths, name, {
        leaseMs: this.leaseMs,
        driftMargin: this.driftMargin,
        // The head may itself wait up to one full lease (act-at rule) before its lease node appears.
        noLeaseGraceMs: 2 * this.fullLeaseMs + this.leaseMs,
        acl: this.membership.acl,
        onEvent: () => {
          this.stats.headEvents++;
          this.schedule();
        },
        onInvalid: (info) => this.emit('invalid', info),
      });
    }
    return this.observer;
  }

  /** Watch the head's lease; remove the head once it has not renewed for lease × (1 + margin) (+ `extraMs` as a backup observer). */
  private async observeHead(own: OwnNode, name: string, skipped: readonly SkippedNode[], extraMs: number): Promise<void> {
    const observer = this.ensureObserver(name);
    if (!(await observer.refresh())) return this.schedule();
    const deadline = observer.deadline() + extraMs;
    if (monotonicMs() < deadline) {
      this.wakeAtTime(deadline);
      return;
    }
    const outcome = await observer.takeover(skipped);
    if (outcome !== 'done') return this.schedule();
    this.stats.takeovers++;
    this.emit('takeover', { node: name, reason: observer.takeoverReason });
    // Everything ahead of us went in that one multi (later nodes only come behind): we are the head.
    if (this.membership.node !== own) return this.schedule();
    return this.evaluateHead(own, monotonicMs());
  }

  /** First in line: wait out any lease the departed head may still hold, then take the lease. */
  private async evaluateHead(own: OwnNode, learnedAt: number): Promise<void> {
    if (this.leading?.node === own.name) return;
    if (this.actAt?.node !== own.name) {
      // Only renewals we saw through ZooKeeper bound the old lease; without them, count from now.
      const observer = this.observer;
      const basis = observer ? await observer.departureBasis(learnedAt) : learnedAt;
      observer?.close();
      this.observer = undefined;
      if (this.membership.node !== own) return this.schedule();
      this.actAt = { node: own.name, at: Math.max(monotonicMs(), basis + this.fullLeaseMs) };
    }
    if (monotonicMs() < this.actAt.at) {
      this.wakeAtTime(this.actAt.at);
      return;
    }
    if (!(await this.eligible())) {
      this.wakeAtTime(monotonicMs() + this.leaseMs / 3);
      return;
    }
    const holder = new LeaseHolder(this.session, {
      memberPath: own.path,
      leasePath: `${this.membership.paths.leases}/${leaseNodeName(own.name, own.sessionId)}`,
      leaseMs: this.leaseMs,
      acl: this.membership.acl,
    });
    // The ownership check runs beside the lease's creation (one round trip less on a failover);
    // nobody is told we lead unless both hold.
    const [statResult, acquireResult] = await Promise.allSettled([this.session.exists(own.path), holder.acquire()]);
    if (statResult.status === 'rejected' || acquireResult.status === 'rejected') {
      holder.stop();
      await holder.remove();
      throw statResult.status === 'rejected' ? statResult.reason : (acquireResult as PromiseRejectedResult).reason;
    }
    const stat = statResult.value;
    const acquired = acquireResult.value;
    if (!stat || stat.ephemeralOwner !== this.session.sessionId) {
      holder.stop();
      await holder.remove();
      // A node left behind by an earlier session of ours (or another process with our id): never trust it.
      if (stat) this.demote('ownership');
      return;
    }
    if (!acquired) {
      // Our member node went (Membership registers again) or a stale lease node of ours is in the way.
      await holder.remove();
      this.wakeAtTime(monotonicMs() + this.leaseMs / 3);
      return;
    }
    if (this.membership.node !== own || !this.running || this.leading) {
      holder.stop();
      await holder.remove();
      return this.schedule();
    }
    this.leading = { epoch: own.sequence, node: own.name, holder };
    holder.on('ended', ({ reason }) => {
      if (this.leading?.holder !== holder) return;
      // Refused: the node is gone or moved (a successor took over, an operator deleted it). Leave the
      // head of the line at once; Membership registers again at the back.
      this.demote(reason === 'lease-refused' || reason === 'lease-error' ? 'lease-lost' : 'closed');
      if (this.membership.node === own) {
        void this.membership.requeue().catch((error: unknown) => {
          if (this.listenerCount('error') > 0) this.emit('error', error);
        });
      }
    });
    this.emit('elected', { epoch: own.sequence, node: own.name });
  }

  private async eligible(): Promise<boolean> {
    if (!this.options.isEligible) return true;
    try {
      return (await this.options.isEligible()) === true;
    } catch {
      return false;
    }
  }

  /**
   * Behind the head's observer: watch the predecessor's member node (its departure), the member
   * node one further ahead (when it departs our predecessor may become a head that never serves, or
   * we become third), and — further back — that node's lease node (its creation: it became the head,
   * so we are third in line now, a backup observer). Each change wakes at most two members, never N.
   */
  private async watchPredecessor(name: string, beyond: string, beyondIsHead: boolean): Promise<SkippedNode | undefined> {
    const key = `${name}|${beyond}`;
    const armed = this.predecessorWatch;
    if (armed && armed.key === key && armed.token === this.watchToken) return armed.node;
    const token = ++this.watchToken;
    this.predecessorWatch = undefined;
    const watch = (): void => {
      if (token !== this.watchToken) return; // superseded by a newer watch on the same departure
      this.predecessorWatch = undefined;
      this.stats.wakeups++;
      this.schedule();
    };
    const path = `${this.membership.paths.members}/${name}`;
    const stat = await this.session.exists(path, { watch });
    if (!stat) {
      this.schedule(); // it left between getChildren and exists
      return undefined;
    }
    const leasePath = `${this.membership.paths.leases}/${leaseNodeName(name, stat.ephemeralOwner)}`;
    const further = await this.session.exists(`${this.membership.paths.members}/${beyond}`, { watch });
    if (token !== this.watchToken) return undefined;
    if (!further) {
      this.schedule();
      return undefined;
    }
    if (!beyondIsHead) {
      // The node two ahead creating its lease node means it became the head: we are third in line
      // now (a backup observer) without any departure next to us having told us.
      const lease = await this.session.exists(`${this.membership.paths.leases}/${leaseNodeName(beyond, further.ephemeralOwner)}`, { watch });
      // It serves already, so our listing is behind: look again soon (a timer, not a loop: a stray lease node must not spin us).
      if (lease && token === this.watchToken) this.wakeAtTime(monotonicMs() + this.leaseMs / 3);
    }
    const node: SkippedNode = { path, version: stat.version, leasePath };
    this.predecessorWatch = { key, token, node };
    return node;
  }
}
