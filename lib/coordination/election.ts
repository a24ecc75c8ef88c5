import { EventEmitter } from 'events';
import { monotonicMs } from '../base/clock';
import { InvalidOptionError } from '../base/errors';
import { booleanOption, fraction, integerInRange } from '../base/options';
import { ZkError, ZkSession } from '../zk';
import type { MultiOp } from '../zk';
import { DEFAULT_DRIFT_MARGIN, DEFAULT_LEASE_MS } from './election-types';
import type { DemotionReason, ElectionEvents, ElectionOptions, ElectionStats } from './election-types';
import { CoordinationError } from './coordination-error';
import { HeadObserver } from './head-observer';
import type { SkippedNode } from './head-observer';
import { InvalidRecords } from './invalid-records';
import { LeaseHolder } from './lease-holder';
import type { Membership, OwnNode } from './membership';
import { leaseNodeName, memberSequence, releaseMarkerPath, sortMemberNames } from './paths';
import { PredecessorWatch } from './predecessor-watch';
import { SerialTask } from './serial-task';
import { StandbyLease } from './standby-lease';
import { WakeTimer } from './wake-timer';

interface Leading {
  readonly epoch: number;
  readonly node: string;
  readonly holder: LeaseHolder;
}

/**
 * Leader election over a Membership with a lease on the primary's own znode (DESIGN.md,
 * "Leadership"). Members line up by sequence. The second in line watches the head's member and
 * lease nodes and takes over when no renewal shows for lease × (1 + margin): it alone is notified of
 * a leader change. The third reads the head's lease about once a lease (no watch) as a backup
 * observer. Everyone further back watches only its predecessor and, at place k, lists the line
 * again after (k − 2) leases: one that moved up to third starts observing within about a lease,
 * while the group lists only H(N − 3) ≈ ln N times per lease (about 5 at 100 candidates). The head
 * acts as primary only from max(now, lastPossibleRenewal + lease × (1 + margin)), then creates its
 * lease node and renews it; it serves while the lease holds. The epoch is its sequence.
 */
export class Election extends EventEmitter<ElectionEvents> {
  readonly leaseMs: number;
  readonly driftMargin: number;
  readonly leaseFraction: number;
  /** The second in line keeps a standby lease (leadership.md, "Hot standby"). */
  readonly standbyEnabled: boolean;
  readonly stats: ElectionStats = { wakeups: 0, headEvents: 0, notified: 0, evaluations: 0, takeovers: 0, releaseClaims: 0, releaseClaimsWon: 0, standbyHandovers: 0 };
  private leading: Leading | undefined;
  private running = false;
  private readonly task = new SerialTask(() => this.evaluate(), (error) => {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    return !(error instanceof ZkError && error.code === 'CLOSED');
  }, 100);
  private observer: HeadObserver | undefined;
  /** Takeovers refused in a row (see takeoverRefused). */
  private refusals = 0;
  /** When this member, first in line, may act as primary (monotonic); per own node. */
  private actAt: { node: string; at: number } | undefined;
  /** A takeover-deadline wake leaves `quiet` as it is; any other wake lists the line again. */
  private readonly wake = new WakeTimer((takeover) => (takeover ? this.task.schedule() : this.schedule()));
  /** The line as last listed, when we observe the head (second or third in line). */
  private line: { own: OwnNode; head: string; skipped: readonly SkippedNode[]; extraMs: number } | undefined;
  /** No event since that listing: a takeover-deadline wake may skip listing again. */
  private quiet = false;
  /** The node we last led with: once demoted (or resigned) with it, we do not expect to lead again with it. */
  private ledWith: string | undefined;
  private readonly predecessorWatch: PredecessorWatch;
  /** Our standby lease while second in line with nothing between us and the head (per own node). */
  private standby: StandbyLease | undefined;

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
    this.standbyEnabled = booleanOption('standby', options.standby, true);
    if (options.isEligible !== undefined && typeof options.isEligible !== 'function') {
      throw new InvalidOptionError('isEligible', 'must be a function');
    }
    const invalidRecords = new InvalidRecords(session, membership.paths.members, (info) => this.emit('invalid', info));
    this.predecessorWatch = new PredecessorWatch(session, membership.paths, invalidRecords, {
      wake: () => {
        this.stats.wakeups++;
        this.stats.notified++;
        this.schedule();
      },
      schedule: () => this.schedule(),
    });
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
   * This member does not lead yet but is next: first in line (waiting for its act-at instant, or
   * claiming the lease) or second in line watching the head. A hint only — a server may hold a
   * call briefly for it — never a permission: leading is `isLeader()` alone.
   */
  get expectsToLead(): boolean {
    const own = this.membership.node;
    if (this.leading || !this.running || own === undefined || own.name === this.ledWith) return false;
    // The second in line watches the head (the third polls it).
    return this.actAt?.node === own.name || (this.observer !== undefined && !this.observer.polled);
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
    this.wake.clear();
    this.task.stop();
    this.resetObservation();
    this.demote('closed');
  }

  /**
   * Hands leadership over: stop leading first (so no call is admitted after this point), run
   * `beforeRelease`, then — in one multi — mark the lease released and give up the member node: the
   * successor sees both together and may act at once. This member then registers again at the back
   * of the line, or leaves the group when `rejoin` is false. `successor`: the name of the member
   * node right behind ours, when the caller knows it (a view); a wrong or stale name is safe — the
   * release checks that node and falls back to a plain release, and a member not in standby never
   * acts on a marker that names it.
   */
  async resign(opts: { rejoin?: boolean; beforeRelease?: () => Promise<void>; successor?: string } = {}): Promise<void> {
    const holder = this.leading?.holder;
    const own = this.membership.node;
    this.demote('resigned', true);
    // Who is right behind us — the caller's membership view knows (no round trip on the handover's
    // path), else read while admitted calls drain: the release names it (hot standby).
    const successor = !holder || !own || !this.standbyEnabled
      ? Promise.resolve(undefined)
      : opts.successor !== undefined && (memberSequence(opts.successor) ?? -1) > (memberSequence(own.name) ?? Infinity)
        ? Promise.resolve({ name: opts.successor, path: `${this.membership.paths.members}/${opts.successor}` })
        : this.nextInLine(own);
    let failed: { error: unknown } | undefined;
    try {
      // E.g. let calls admitted while leading finish, so the successor never overlaps with them.
      if (opts.beforeRelease) await opts.beforeRelease();
    } catch (error) {
      failed = { error };
    }
    const release = holder ? holder.releaseOps(await successor) : [];
    if (opts.rejoin === false) {
      this.stop();
      await this.membership.leave(release);
    } else {
      // Our registration at the back wakes every view: let the successor's takeover go first.
      await this.membership.requeue(release, Math.min(this.leaseMs / 10, 50));
    }
    // The successor has read RELEASED by now or counts from our departure; the node goes.
    if (holder) setTimeout(() => void holder.remove(), this.leaseMs).unref();
    if (failed) throw failed.error;
  }

  /** The member right behind ours in the line (any record: one that is not a candidate never acts on a marker). */
  private async nextInLine(own: OwnNode): Promise<{ name: string; path: string } | undefined> {
    try {
      const { children } = await this.session.children(this.membership.paths.members);
      const ordered = sortMemberNames(children);
      const index = ordered.findIndex((o) => o.name === own.name);
      const next = index === -1 ? undefined : ordered[index + 1];
      return next && { name: next.name, path: `${this.membership.paths.members}/${next.name}` };
    } catch {
      return undefined; // a plain release then
    }
  }

  /**
   * Stops leading at once (isLeader() is false from here on). On a handover (`handover`) the holder
   * keeps its node, and may keep renewing while admitted calls drain, until release() marks it.
   */
  private demote(reason: DemotionReason, handover = false): void {
    if (reason !== 'not-lowest') this.stopStandby();
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
    this.stopStandby();
    this.predecessorWatch.invalidate();
    this.observer?.close();
    this.observer = undefined;
    this.actAt = undefined;
  }

  /** Something changed (a watch, a session event, a failed step): evaluate again from a fresh listing. */
  private schedule(): void {
    this.quiet = false;
    this.task.schedule();
  }

  /** Wake up at `at` (monotonic) to evaluate again; the earliest request wins. */
  private wakeAtTime(at: number, takeover = false): void {
    if (this.running) this.wake.request(at, takeover);
  }

  private get fullLeaseMs(): number {
    return this.leaseMs * (1 + this.driftMargin);
  }

  private async evaluate(): Promise<void> {
    const own = this.membership.node;
    if (!own || own.sessionId !== this.session.sessionId) return;
    this.stats.evaluations++;
    // The head released with us named right behind it: serve now, on the standby lease.
    const watched = this.observer;
    const handover = watched?.handover;
    if (watched && handover !== undefined && !this.leading && (await this.leadOnStandby(own, handover, watched))) return;
    const line = this.line;
    if (this.quiet && line?.own === own && this.observer?.name === line.head) {
      // Woken by the takeover deadline (or, third in line, to read the head's lease again) with nothing
      // heard since the last listing. The takeover multi is conditioned on everything that listing
      // showed (the head's and skipped nodes' versions, our own node), so a line that changed
      // meanwhile makes it fail: one read less on the path.
      return this.observeHead(own, line.head, line.skipped, line.extraMs);
    }
    // Second in line, nothing between: the head we watched left, with a lease event. If it released
    // its lease, claim ours now, conditioned on its release marker, beside the listing any other
    // departure needs (sent first: a read queued behind our own write would wait for its commit).
    const observer = this.observer;
    const marker = line?.own === own && line.skipped.length === 0 && observer?.name === line.head && !this.leading ? observer.releaseMarker : undefined;
    this.line = undefined;
    this.quiet = true; // any event from here on clears it
    const listing = this.session.children(this.membership.paths.members);
    if (marker !== undefined) {
      listing.catch(() => undefined); // awaited below unless the claim elects us
      if (await this.claimReleased(own, marker, observer!)) return;
    }
    const { children } = await listing;
    const learnedAt = monotonicMs();
    if (this.membership.node !== own) return this.schedule();
    const ordered = sortMemberNames(children);
    const index = ordered.findIndex((o) => o.name === own.name);
    if (index === -1) return; // our node is gone: Membership registers again and wakes us
    if (index === 0) {
      this.stopStandby();
      return this.evaluateHead(own, learnedAt);
    }
    if (this.leading) this.demote('not-lowest');
    if (this.actAt?.node === own.name) this.actAt = undefined;
    // Far back, and our predecessor (valid when we armed its watch, unchanged since) is still there:
    // only our distance from the head can have shrunk. No read beyond the listing.
    if (index >= 3 && this.predecessorWatch.isWatching(ordered[index - 1]!.name)) return this.listAgainLater(index - 1);
    // If only invalid records (not candidates) stand between us and the head, we are second in line.
    const place = await this.predecessorWatch.place(ordered, index);
    if (!place || this.membership.node !== own) return this.schedule();
    const { ahead, skipped, predecessor } = place;
    if (ahead !== 0 || skipped.length > 0) this.stopStandby();
    if (ahead === 0) {
      this.line = { own, head: ordered[0]!.name, skipped, extraMs: 0 };
      if (skipped.length === 0) this.startStandby(own);
      return this.observeHead(own, ordered[0]!.name, skipped, 0);
    }
    if (ahead === 1) {
      // Third in line: a backup observer, by reads. Should the second (a crashed or idle process)
      // not take over, we remove the head and it together, one lease later than the second would
      // have. Its departure is the only one we are told of.
      const head = ordered[0]!.name;
      const observer = this.ensureObserver(head, true);
      const second = await this.predecessorWatch.watch(ordered[1]!.name, predecessor!.version);
      if (!second) return;
      observer.setSecond(second);
      this.line = { own, head, skipped: [...skipped, second], extraMs: this.leaseMs };
      return this.observeHead(own, head, this.line.skipped, this.leaseMs);
    }
    this.observer?.close();
    this.observer = undefined;
    if (await this.predecessorWatch.watch(ordered[ahead]!.name, predecessor!.version)) this.listAgainLater(ahead);
  }

  /** Fourth in line or further back: nobody tells us when the head or the second leaves (class comment). */
  private listAgainLater(ahead: number): void {
    this.wakeAtTime(monotonicMs() + (ahead - 1) * this.leaseMs);
  }

  /**
   * The head's observer: the second in line watches the head's member and lease nodes; the third
   * (`poll`) reads them on its own timer instead, so that only the second is woken by a renewal or
   * a leader change.
   */
  private ensureObserver(name: string, poll = false): HeadObserver {
    const own = this.membership.node;
    if (this.observer?.name !== name || this.observer.polled !== poll || this.observer.ownName !== own?.name) {
      this.predecessorWatch.invalidate(); // predecessor watches from when we were further back are stale now
      this.refusals = 0;
      this.observer?.close();
      this.observer = new HeadObserver(this.session, this.membership.paths, name, {
        leaseMs: this.leaseMs,
        driftMargin: this.driftMargin,
        // The head may itself wait up to one full lease (act-at rule) before its lease node appears.
        noLeaseGraceMs: 2 * this.fullLeaseMs + this.leaseMs,
        acl: this.membership.acl,
        poll,
        onEvent: (node) => {
          this.stats.headEvents++;
          if (node === 'lease') return this.task.schedule(); // a renewal: the line is as listed, read the lease only
          this.stats.notified++;
          this.schedule();
        },
        onInvalid: (info) => this.emit('invalid', info),
        ownName: own?.name,
        // Synchronously, inside the notification's dispatch: see StandbyLease.freeze().
        onHandover: () => {
          if (own && this.standby?.memberPath === own.path) this.standby.freeze();
        },
      });
    }
    return this.observer;
  }

  /** Watch the head's lease; remove the head once it has not renewed for lease × (1 + margin) (+ `extraMs` as a backup observer). */
  private async observeHead(own: OwnNode, name: string, skipped: readonly SkippedNode[], extraMs: number): Promise<void> {
    const observer = this.ensureObserver(name, extraMs > 0);
    if (!(await observer.refresh())) return this.schedule();
    const deadline = observer.deadline() + extraMs;
    const now = monotonicMs();
    if (now < deadline) {
      // The head renewed (or is not due yet): a streak of refused takeovers is over.
      this.refusals = 0;
      // The backup observer has no watch: it reads the head's lease again within a lease.
      this.wakeAtTime(observer.polled ? Math.min(deadline, now + this.leaseMs) : deadline, true);
      return;
    }
    // The takeover carries our own lease node's creation: the act-at instant has passed already
    // (the deadline is seenAt + lease × (1 + margin)), so we publish that we serve in the same write —
    // one ZooKeeper write and one client notification less. Not eligible: remove the head only.
    const holder = (await this.eligible()) ? this.newHolder(own) : undefined;
    const taken = (ops: readonly MultiOp[]): Promise<boolean> => observer.takeover(skipped, ops).then((o) => o === 'done');
    if (holder) await this.claim(own, holder, () => holder.acquire(taken), 'fall-through');
    else await taken([]);
    if (!observer.gone) {
      // Leading on it (the takeover's answer was lost and our lease node was adopted): nothing to clear.
      if (this.leading === undefined || this.leading.holder !== holder) await this.clearTheWay(observer, holder, skipped);
      return this.takeoverRefused();
    }
    this.refusals = 0;
    this.stats.takeovers++;
    this.emit('takeover', { node: name, reason: observer.takeoverReason });
    // Everything ahead of us went in that one multi (later nodes only come behind): we are the head.
    if (this.membership.node !== own) return this.schedule();
    return this.evaluateHead(own, monotonicMs());
  }

  /**
   * After a refused takeover: what the refusal says is in the way that no renewal or departure
   * will ever move — a foreign persistent node at the head of the line with nodes below it (a
   * member node is ephemeral and has none), a node squatting on our lease path, leases/ deleted —
   * is cleared, so that the next attempt can commit. Errors are left to the next round.
   */
  private async clearTheWay(observer: HeadObserver, holder: LeaseHolder | undefined, skipped: readonly SkippedNode[]): Promise<void> {
    try {
      switch (observer.refusal) {
        case 'NOT_EMPTY': {
          // Member and lease nodes are ephemeral: whatever has children in the multi is foreign.
          const paths = [observer.memberPath, observer.leaseNodePath, ...skipped.flatMap((n) => [n.path, n.leasePath])];
          for (const path of paths) if (path !== undefined) await this.removeChildren(path);
          break;
        }
        case 'NODE_EXISTS':
          // Not leading on it (its acquire failed): whatever is at our lease path is not a lease of ours.
          await holder?.remove();
          break;
        case 'NO_NODE':
          // Usually the line moved (a node left); only leases/ missing needs a repair: looked at
          // beside the next round, not in front of it.
          void this.repairLeases().catch(() => undefined);
          break;
      }
    } catch {
      // The next round tries again.
    }
  }

  /** Deletes everything below a node in the line: not a member node (ephemeral nodes have no children). */
  private async removeChildren(path: string): Promise<void> {
    const { children } = await this.session.children(path).catch(() => ({ children: [] as string[] }));
    if (children.length === 0) return;
    this.emit('invalid', {
      path,
      error: new CoordinationError('BAD_MEMBER_RECORD', `${path}: has ${children.length} child node(s), so it is no member node (those are ephemeral): removed`, { path }),
    });
    for (const child of children) await this.session.deleteRecursive(`${path}/${child}`);
  }

  /** leases/ deleted (no lease can be created in it): create it again, as registration would. */
  private async repairLeases(): Promise<void> {
    if (await this.session.exists(this.membership.paths.leases)) return;
    await this.membership.repair();
  }

  /**
   * A refused takeover is tried again at once the first time (the line usually moved: a renewal,
   * a departure), then after a growing pause up to half a lease, so that a refusal nothing clears
   * can never spin. Any watch event still evaluates at once.
   */
  private takeoverRefused(): void {
    this.refusals++;
    if (this.refusals === 1) return this.schedule();
    this.wakeAtTime(monotonicMs() + Math.min(this.leaseMs / 2, 10 * 2 ** (this.refusals - 2)));
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
    const holder = this.newHolder(own);
    return this.claim(own, holder, () => holder.acquire(), 'retry-later');
  }

  /**
   * The head released its lease (we bet): create our lease node in a multi that also deletes the
   * head's release marker and checks our member node. It commits only if the release did (the
   * marker exists only from that write on), so no read of the head's lease is needed; we are first
   * in line then (nothing was between us and the head, and nodes join only at the back). Any failure
   * wrote nothing: the caller goes on as for any departure (list, read, act-at rule).
   */
  private async claimReleased(own: OwnNode, marker: string, observer: HeadObserver): Promise<boolean> {
    if (!(await this.eligible()) || this.membership.node !== own) return false;
    this.stats.releaseClaims++;
    const holder = this.newHolder(own);
    // Sent before the claim, so it sees the marker the claim deletes: only a marker the head's own
    // session created is a release (an operator's multi can imitate everything else about one).
    const authentic = observer.markerIsHeads(marker);
    let undo = false;
    const submit = async (ops: readonly MultiOp[]): Promise<boolean> => {
      const outcome = await this.consumeMarker(marker, ops);
      if (outcome === 'committed' && (await authentic)) return true;
      // Committed on a forged marker, or the answer was lost (not adopted: it would need the
      // marker's proof): our lease node goes, we serve nothing from it and fall back.
      undo = outcome !== 'refused';
      return false;
    };
    await this.claim(own, holder, () => holder.acquire(submit), 'fall-through');
    if (this.leading?.holder === holder) {
      this.stats.releaseClaimsWon++;
      return true;
    }
    if (undo) await holder.remove();
    return false;
  }


  private newHolder(own: OwnNode): LeaseHolder {
    const leaseName = leaseNodeName(own.name, own.sessionId);
    return new LeaseHolder(this.session, {
      memberPath: own.path,
      leasePath: `${this.membership.paths.leases}/${leaseName}`,
      releaseMarkerPath: releaseMarkerPath(this.membership.paths, leaseName),
      leaseMs: this.leaseMs,
      acl: this.membership.acl,
    });
  }

  /**
   * Leads once the lease node is created (`acquire`) and our member node is ours. The ownership
   * check runs beside the creation (one round trip less on a failover) and is sent first: a read
   * queued behind our own write would wait for its commit. Nobody is told we lead unless both
   * hold. When the creation is refused: `retry-later` (our own multi: a stale node of ours may be
   * in the way, clean it up), or `fall-through` (a takeover or a release claim: the caller goes on).
   */
  private async claim(own: OwnNode, holder: LeaseHolder, acquire: () => Promise<boolean>, refused: 'retry-later' | 'fall-through'): Promise<void> {
    const owned = this.session.exists(own.path);
    const [statResult, acquireResult] = await Promise.allSettled([owned, acquire()]);
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
      if (refused === 'fall-through') return;
      // Our member node went (Membership registers again), leases/ went, or a stale lease node of
      // ours (or a foreign one) is in the way.
      await holder.remove();
      if (holder.refusal === 'NO_NODE') await this.repairLeases().catch(() => undefined);
      this.wakeAtTime(monotonicMs() + this.leaseMs / 3);
      return;
    }
    if (this.membership.node !== own || !this.running || this.leading) {
      holder.stop();
      await holder.remove();
      return this.schedule();
    }
    this.becomeLeader(own, holder);
  }

  /** From here on isLeader() answers from `holder`; everyone listening is told. */
  private becomeLeader(own: OwnNode, holder: LeaseHolder): void {
    this.stopStandby();
    this.actAt = { node: own.name, at: monotonicMs() };
    // Leading: the head we observed (if we took over from it) is history.
    this.observer?.close();
    this.observer = undefined;
    this.leading = { epoch: own.sequence, node: own.name, holder };
    this.ledWith = own.name;
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

  /**
   * The head released with us named right behind it (leadership.md, "Hot standby"): its release
   * multi checked our member node, so we were first in line when it committed, and it admits
   * nothing more. Serve at once, until our standby lease ends — frozen at the marker's notification,
   * so it reaches no further than the release's commit + lease, which everyone behind us waits out —
   * and publish our lease node meanwhile with the claim multi (delete the marker, check our member
   * node, create the lease node), whose send time starts the lease proper. False: not taken (no
   * valid standby lease, not eligible): the claim and the act-at rule go on as before.
   */
  private async leadOnStandby(own: OwnNode, marker: string, observer: HeadObserver): Promise<boolean> {
    const standby = this.standby;
    if (!standby || standby.memberPath !== own.path || !standby.isFrozen || !marker.endsWith(`.to.${own.name}`)) return false;
    const until = standby.validUntil;
    this.stopStandby(); // spent: it counts nothing after the marker
    // The marker must be the head's own (its session owns it): a node another writer put there is no release.
    const [eligible, authentic] = await Promise.all([this.eligible(), observer.markerIsHeads(marker)]);
    if (!eligible || !authentic) return false;
    if (this.membership.node !== own || own.sessionId !== this.session.sessionId || this.leading || !this.running || monotonicMs() >= until) return false;
    const holder = this.newHolder(own);
    holder.adopt(until);
    this.stats.standbyHandovers++;
    this.becomeLeader(own, holder);
    const submit = async (ops: readonly MultiOp[]): Promise<boolean> => (await this.consumeMarker(marker, ops)) === 'committed';
    const published = await holder.acquire(submit).catch(() => false);
    if (!published && (this.leading as Leading | undefined)?.holder === holder) {
      // Our member node went, a stale lease node is in the way, or the answer was lost: stop now (the
      // node goes with the demotion) and go on from a fresh listing.
      this.demote('lease-lost');
      this.schedule();
    }
    return true;
  }

  /** The claim multi: delete the head's release marker, then `ops` (our lease node's creation). */
  private consumeMarker(marker: string, ops: readonly MultiOp[]): Promise<'committed' | 'refused' | 'lost'> {
    return this.session.multi([{ op: 'delete', path: marker, version: -1 }, ...ops]).then(() => 'committed' as const, (error: unknown) => {
      if (!(error instanceof ZkError)) throw error;
      return error.retryable ? 'lost' : 'refused';
    });
  }

  private startStandby(own: OwnNode): void {
    if (!this.standbyEnabled || this.leading) return;
    if (this.standby?.memberPath === own.path) return this.standby.start();
    this.standby?.stop();
    this.standby = new StandbyLease(this.session, own.path, this.leaseMs);
    this.standby.start();
  }

  private stopStandby(): void {
    this.standby?.stop();
    this.standby = undefined;
  }

  private async eligible(): Promise<boolean> {
    if (!this.options.isEligible) return true;
    try {
      return (await this.options.isEligible()) === true;
    } catch {
      return false;
    }
  }
}
