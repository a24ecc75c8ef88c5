import { monotonicMs } from '../base/clock';
import { ZkError, ZkSession } from '../zk';
import type { AclEntry, MultiOp, WatchEvent, ZnodeStat } from '../zk';
import { CoordinationError } from './coordination-error';
import { RELEASED } from './lease-holder';
import { decodeRecord, unreadableRecord } from './member-record';
import { leaseNodeName, namedReleaseMarkerPath, releaseMarkerPath, ServicePaths } from './paths';

export interface HeadObserverOptions {
  readonly leaseMs: number;
  readonly driftMargin: number;
  /** How long a head with a valid record may go without a lease node before it is removed. */
  readonly noLeaseGraceMs: number;
  readonly acl?: readonly AclEntry[];
  /**
   * Observe by reads, without watches (the third in line, a backup observer): each refresh() reads
   * the lease node's stat, and the member node's when the lease did not move. Nothing it does wakes
   * on a renewal or a departure; its election calls refresh() about once a lease.
   */
  readonly poll?: boolean;
  /** A watch fired on the head's member node or on its lease node: evaluate again. */
  readonly onEvent: (node: 'member' | 'lease') => void;
  /** The head's record does not parse (reported once per data version). */
  readonly onInvalid: (info: { path: string; error: CoordinationError }) => void;
  /**
   * Our own member name, to watch for a release marker that names us (not when polling). Its
   * creation calls `onHandover` synchronously, inside the notification's dispatch — before any
   * later reply is decoded (see StandbyLease.freeze) — then `onEvent('member')`.
   */
  readonly ownName?: string;
  readonly onHandover?: () => void;
}

/** What the observer last read of the head's lease node, and when (monotonic). */
type LeaseState =
  | { readonly kind: 'present'; readonly version: number; readonly mzxid: bigint; readonly released: boolean; readonly seenAt: number }
  | { readonly kind: 'absent'; readonly seenAt: number };

export type TakeoverOutcome = 'done' | 'changed';

/** A node between the head and us removed with the head: its path and version (and lease path, for a valid member). */
export interface SkippedNode {
  readonly path: string;
  readonly version: number;
  readonly leasePath?: string;
}

/**
 * The second in line's view of the head (DESIGN.md, "Takeover" and "Acting"): its member node and
 * its lease node, each read with a watch — or, for the third in line (`poll`), read again on a
 * timer without watches. `seenAt` is when a lease state was first seen — never earlier than the
 * renewal that produced it (a poll sees it later still) — so `seenAt + lease × (1 + margin)` on our
 * clock is after the end of any lease that renewal granted, whatever the other host's clock says
 * (only rates drift, by less than the margin).
 */
export class HeadObserver {
  readonly memberPath: string;
  private leasePath: string | undefined;
  private memberVersion = -1;
  private recordValid = true;
  private lease: LeaseState | undefined;
  private memberDirty = true;
  private leaseDirty = true;
  /** Lease watch events received, and the count at which the latest completed read was issued. */
  private leaseEvents = 0;
  private readAtEvents = -1;
  /**
   * The connection (its connectedSince) on which the latest lease read was answered. Notifications
   * come in zxid order only within one connection: on a reconnect ZooKeeper replays the watches in
   * the order the client lists them (SetWatches), so a departure may then arrive before a renewal
   * that committed earlier.
   */
  private readOnConnection = Number.NaN;
  private reading = false;
  private departed: { at: number; intact: boolean } | undefined;
  /** Resolves when a departure is noted: a lease read under way is not waited for then (refresh()). */
  private readonly departure: Promise<void>;
  private noteDeparted!: () => void;
  /** The lease node as read right after a departure we did not cause (undefined: gone or unreadable). */
  private finalLease: Promise<{ version: number; released: boolean } | undefined> = Promise.resolve(undefined);
  private tookOver = false;
  /**
   * Why the last takeover multi was refused. BAD_VERSION or NO_NODE usually mean the line moved (a
   * renewal, a departure); NOT_EMPTY and NODE_EXISTS that a foreign node is in the way (Election).
   */
  refusal: string | undefined;
  private leaseDeleted = false;
  private second: SkippedNode | undefined;
  /** The session that owns the head's member node (and so its lease node and release marker). */
  private headOwner: string | undefined;
  private closed = false;
  private invalidVersion = -1;
  /** The release marker naming us that we watch for, and whether we were notified of its creation. */
  private namedMarker: string | undefined;
  private handedOverTo: string | undefined;

  constructor(
    private readonly session: ZkSession,
    private readonly paths: ServicePaths,
    readonly name: string,
    private readonly options: HeadObserverOptions,
  ) {
    this.memberPath = `${paths.members}/${name}`;
    this.departure = new Promise((resolve) => (this.noteDeparted = resolve));
  }

  close(): void {
    this.closed = true;
  }

  /** The head's lease node path, once its member node was read. */
  get leaseNodePath(): string | undefined {
    return this.leasePath;
  }

  get ownName(): string | undefined {
    return this.options.ownName;
  }

  get polled(): boolean {
    return this.options.poll === true;
  }

  get gone(): boolean {
    return this.departed !== undefined;
  }

  /** Why the head may be removed: it stopped renewing, never created a lease node, or is not a member record. */
  get takeoverReason(): 'lease-expired' | 'never-served' | 'invalid-record' {
    if (this.lease?.kind === 'present') return 'lease-expired';
    return this.recordValid ? 'never-served' : 'invalid-record';
  }

  /**
   * The head's release marker, when its departure may have been a release: we watched it (not by
   * polling), it had a lease node, and a lease event came with the departure — a release writes its
   * lease in the same multi that deletes its member node, and our armed watch fires for that first —
   * but not its deletion (a session expiry removes both nodes in one transaction: no marker there).
   * A claim conditioned on the marker needs no read of the lease (see Election). Undefined otherwise.
   */
  get releaseMarker(): string | undefined {
    if (this.handedOverTo !== undefined) return this.handedOverTo;
    const departed = this.departed;
    if (!departed || departed.intact || this.tookOver || this.leaseDeleted || this.options.poll || this.lease?.kind !== 'present' || !this.leasePath) return undefined;
    return releaseMarkerPath(this.paths, this.leasePath.slice(this.paths.leases.length + 1));
  }

  /**
   * The release marker naming us, when we were notified of its creation: the head's release multi
   * committed, checking our member node, so the head admits nothing more and we were right behind it.
   * Only a notification orders the marker against our own earlier writes (a read finding it does not).
   */
  get handover(): string | undefined {
    return this.handedOverTo;
  }

  /**
   * Whether `path` (a release marker) was created by the head's own session: an ephemeral node's
   * owner cannot be forged, so a marker that passes was created by the head's release multi — not by
   * another writer imitating a handover (a foreign node at that path is refused). A marker already
   * gone (the head's session closed after its release) does not pass either: the caller falls back.
   */
  async markerIsHeads(path: string): Promise<boolean> {
    const authentic = await this.markerOwnedBy(path, this.headOwner);
    // Not the head's: forget it, so that a real departure is judged as if it had never appeared.
    if (!authentic && path === this.handedOverTo) this.handedOverTo = undefined;
    return authentic;
  }

  private async markerOwnedBy(path: string, owner: string | undefined): Promise<boolean> {
    if (owner === undefined) return false;
    const stat = await this.session.exists(path).catch(() => null);
    return stat !== null && stat.ephemeralOwner === owner;
  }

  /**
   * A lease node that says RELEASED proves a release only together with the release marker its
   * holder's session created in the same multi (plain, or naming us): anyone with write access can
   * write RELEASED and delete the member node, nobody can create an ephemeral node for another
   * session. Without it (forged, or gone with the holder's session) the mark counts as an ordinary
   * version: slower, never unsafe.
   */
  private async releaseProven(leasePath: string | undefined, owner: string | undefined): Promise<boolean> {
    if (leasePath === undefined || owner === undefined) return false;
    const plain = releaseMarkerPath(this.paths, leasePath.slice(this.paths.leases.length + 1));
    const own = this.options.ownName;
    const checks = [this.markerOwnedBy(plain, owner)];
    if (own !== undefined) checks.push(this.markerOwnedBy(namedReleaseMarkerPath(plain, own), owner));
    return (await Promise.all(checks)).some(Boolean);
  }

  /** Watches for the release marker that names us (the head's lease node is known by now). */
  private watchNamedMarker(leasePath: string): void {
    const own = this.options.ownName;
    if (own === undefined || this.options.poll) return;
    const path = namedReleaseMarkerPath(releaseMarkerPath(this.paths, leasePath.slice(this.paths.leases.length + 1)), own);
    if (path === this.namedMarker) return;
    this.namedMarker = path;
    // Found already (no notification): no handover by name; the claim or the act-at rule applies.
    this.session.exists(path, { watch: this.onNamedMarker }).catch(() => undefined);
  }

  private readonly onNamedMarker = (event: WatchEvent): void => {
    if (this.closed || event.type !== 'created' || event.path !== this.namedMarker || this.handedOverTo !== undefined) return;
    this.handedOverTo = event.path;
    this.options.onHandover?.();
    this.options.onEvent('member');
  };

  /** Reads what changed since the last call (with watches), or polls. Returns false once the head is gone. */
  async refresh(): Promise<boolean> {
    if (this.departed) return false;
    if (this.memberDirty) await this.readMember();
    if (this.options.poll) {
      if (!this.departed) await this.pollLease();
      if (this.memberDirty && !this.departed) await this.readMember();
      return !this.departed;
    }
    while (this.leaseDirty && !this.departed) await this.readLeaseUntilDeparture();
    return !this.departed;
  }

  /**
   * A release writes the lease and deletes the member node in one transaction, so its lease
   * notification often arrives first and starts a read; the departure then stops the wait for that
   * read (the election claims at once), while the read goes on and still records what it finds.
   * An answer that comes after the departure notification was read after the departure (a session's
   * replies and notifications arrive in order): it shows the lease's last state.
   */
  private readLeaseUntilDeparture(): Promise<void> {
    const read = this.readLease();
    read.catch(() => undefined); // a failure after the departure is nobody's business
    return Promise.race([read, this.departure]);
  }

  private async readMember(): Promise<void> {
    this.memberDirty = false;
    try {
      const watch = this.options.poll ? {} : { watch: this.onMember };
      let read: { data: Buffer; stat: ZnodeStat } | { data: CoordinationError; stat: ZnodeStat };
      try {
        read = await this.session.get(this.memberPath, watch);
      } catch (error) {
        const unreadable = unreadableRecord(error, this.memberPath);
        if (!unreadable) throw error;
        // Its ACL denies us READ: no candidate. Its stat (no permission needed) conditions the takeover.
        const stat = await this.session.exists(this.memberPath, watch);
        if (!stat) throw new ZkError('NO_NODE', `${this.memberPath} is gone`, { path: this.memberPath });
        read = { data: unreadable, stat };
      }
      const { data, stat } = read;
      this.memberVersion = stat.version;
      this.headOwner = stat.ephemeralOwner;
      const leasePath = `${this.paths.leases}/${leaseNodeName(this.name, stat.ephemeralOwner)}`;
      if (leasePath !== this.leasePath) {
        this.leasePath = leasePath;
        this.leaseDirty = true;
      }
      this.watchNamedMarker(leasePath);
      try {
        if (data instanceof CoordinationError) throw data;
        decodeRecord(data, this.memberPath);
        this.recordValid = true;
      } catch (error) {
        if (!(error instanceof CoordinationError)) throw error;
        this.recordValid = false;
        if (this.invalidVersion !== stat.version) {
          this.invalidVersion = stat.version;
          this.options.onInvalid({ path: this.memberPath, error });
        }
      }
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') {
        this.noteDeparture(monotonicMs());
        return;
      }
      this.memberDirty = true;
      throw error;
    }
  }

  /**
   * The backup observer's reads of the head's lease and member nodes (no watches, sent together). A
   * new write of the lease counts as a renewal seen at the read's completion — later than the
   * renewal really happened, which can only delay a takeover.
   */
  private async pollLease(): Promise<void> {
    const path = this.leasePath;
    if (!path) return;
    const [stat, member] = await Promise.all([this.session.exists(path), this.session.exists(this.memberPath)]);
    const now = monotonicMs();
    if (!member) return this.noteDeparture(now);
    if (member.version !== this.memberVersion || path !== `${this.paths.leases}/${leaseNodeName(this.name, member.ephemeralOwner)}`) this.memberDirty = true;
    const previous = this.lease;
    if (stat && !(previous?.kind === 'present' && previous.version === stat.version && previous.mzxid === stat.mzxid)) {
      this.lease = { kind: 'present', version: stat.version, mzxid: stat.mzxid, released: false, seenAt: now };
    } else if (!stat && previous?.kind !== 'absent') {
      this.lease = { kind: 'absent', seenAt: now };
    }
  }

  /** The backup observer's second in line (valid, between the head and us): see departureBasis(). */
  setSecond(node: SkippedNode): void {
    this.second = node;
  }

  /**
   * When the head may be removed (monotonic): after a lease × (1 + margin) without a renewal seen,
   * counted from no earlier than the moment our own connection to ZooKeeper last came up. A break
   * of ours (typically a ZooKeeper leader election: every server drops its clients) most likely kept
   * the head from renewing too, so the head gets a whole lease after the ensemble is back: a lease
   * shorter than a ZooKeeper election pauses the primary, it does not fail it over. Counting later
   * only delays a takeover, so this cannot shorten anyone's lease.
   */
  deadline(): number {
    const lease = this.lease;
    if (!lease) return Number.POSITIVE_INFINITY;
    const full = this.options.leaseMs * (1 + this.options.driftMargin);
    // A RELEASED mark counts only together with the departure (the holder writes it in the same
    // multi that deletes its member node): one seen while the member node stays is no promise of
    // the holder's — an operator's write, say — and its lease is waited out like any other.
    const from = Math.max(lease.seenAt, this.session.connectedSince);
    if (lease.kind === 'present') return from + full;
    return from + (this.recordValid ? Math.max(full, this.options.noLeaseGraceMs) : full);
  }

  /**
   * Removes the head with one multi conditioned on what was read: the lease node's version (or its
   * absence: create + delete of its path fails if it exists) and the member node's version, plus
   * the invalid nodes between the head and us (`skipped`, conditioned on their versions). Any
   * failure means something moved (a renewal, a new lease, a departure): read again.
   */
  async takeover(skipped: readonly SkippedNode[] = [], alongside: readonly MultiOp[] = []): Promise<TakeoverOutcome> {
    this.refusal = undefined;
    const lease = this.lease;
    if (!lease || !this.leasePath || this.departed) return 'changed';
    const ops: MultiOp[] = lease.kind === 'present'
      ? [{ op: 'delete', path: this.leasePath, version: lease.version }]
      : [{ op: 'create', path: this.leasePath, acl: this.options.acl }, { op: 'delete', path: this.leasePath, version: 0 }];
    ops.push({ op: 'delete', path: this.memberPath, version: this.memberVersion });
    // Nodes between the head and us whose records are invalid go in the same step (never candidates).
    for (const node of skipped) {
      // A skipped valid member (a second in line that did not take over) must not serve: its lease node must not exist.
      if (node.leasePath) ops.push({ op: 'create', path: node.leasePath, acl: this.options.acl }, { op: 'delete', path: node.leasePath, version: 0 });
      ops.push({ op: 'delete', path: node.path, version: node.version });
    }
    // E.g. our own lease node's creation: we publish that we serve in the same write.
    ops.push(...alongside);
    try {
      await this.session.multi(ops);
    } catch (error) {
      if (!(error instanceof ZkError)) throw error;
      this.memberDirty = true;
      this.leaseDirty = true;
      if (error.retryable) throw error;
      this.refusal = error.code;
      return 'changed';
    }
    this.tookOver = true;
    this.departed = { at: monotonicMs(), intact: true };
    return 'done';
  }

  /**
   * The latest instant (our monotonic clock) at which the departed head can have sent a renewal
   * that still grants it a lease; -Infinity when it released its lease. Renewals check the member
   * node, so none lands after the departure: `departedAt` always bounds them, and the `seenAt` of
   * the last version bounds them tighter when no lease event arrived between that read and the
   * departure (ZooKeeper delivers a session's notifications in order).
   */
  async departureBasis(learnedAt: number): Promise<number> {
    if (!this.departed) this.noteDeparture(learnedAt);
    const departed = this.departed!;
    // A backup observer's head was two ahead of us: the second may have led after it, with renewals
    // we never read. Unless our own takeover removed them both (neither can have renewed after it),
    // count from the listing that showed them gone — or not at all if the second's lease, read now
    // that it is gone (its last version), says it released it: it served, so it waited out the
    // head's lease before, and admitted nothing after the mark.
    if (this.options.poll && !this.tookOver) return (await this.secondReleased()) ? Number.NEGATIVE_INFINITY : learnedAt;
    const lease = this.lease;
    if (lease?.kind === 'present' && lease.released && (await this.releaseProven(this.leasePath, this.headOwner))) return Number.NEGATIVE_INFINITY;
    if (departed.intact && lease) return Math.min(lease.seenAt, departed.at);
    if (this.tookOver) return departed.at;
    const last = await this.finalLease;
    if (last?.released && (await this.releaseProven(this.leasePath, this.headOwner))) return Number.NEGATIVE_INFINITY;
    if (last && lease?.kind === 'present' && lease.version === last.version) return Math.min(lease.seenAt, departed.at);
    // Gone or unreadable: count from the moment we learned of the departure.
    return departed.at;
  }

  private async secondReleased(): Promise<boolean> {
    const path = this.second?.leasePath;
    if (!path) return false;
    const released = await this.session.get(path).then(({ data }) => data.toString() === RELEASED, () => false);
    // The lease node's name ends with its holder's session (leaseNodeName).
    return released && this.releaseProven(path, path.slice(path.lastIndexOf('.') + 1));
  }

  private noteDeparture(at: number): void {
    if (this.departed) return;
    // Only a watch orders what we read before the departure against it (a poll never does), and only
    // on the connection that answered the read: across a reconnect, replayed notifications come in
    // the order the watches were set, not in zxid order.
    const intact = !this.options.poll && !this.reading && !this.leaseDirty && this.readAtEvents === this.leaseEvents &&
      this.session.connectedSince === this.readOnConnection;
    this.departed = { at, intact };
    this.noteDeparted();
    // A handover marks the lease RELEASED in the same write that removes the member node: read the
    // lease's last state now, beside the listing the departure triggers, not after it.
    const path = this.leasePath;
    if (!intact && path && !this.options.poll) {
      this.finalLease = this.session.get(path).then(
        ({ data, stat }) => ({ version: stat.version, released: data.toString() === RELEASED }),
        () => undefined,
      );
    }
  }

  private readonly onMember = (event: WatchEvent): void => {
    if (this.closed) return;
    if (event.type === 'deleted') this.noteDeparture(monotonicMs());
    else this.memberDirty = true;
    this.options.onEvent('member');
  };

  private readonly onLease = (event: WatchEvent): void => {
    if (this.closed) return;
    // A release writes the lease node, it never deletes it: a deletion (an expiry, an operator) is no release.
    if (event.type === 'deleted') this.leaseDeleted = true;
    this.leaseEvents++;
    this.leaseDirty = true;
    this.options.onEvent('lease');
  };

  private async readLease(): Promise<void> {
    const path = this.leasePath;
    if (!path) return;
    this.leaseDirty = false;
    this.reading = true;
    const issuedAt = this.leaseEvents;
    try {
      let next: LeaseState;
      try {
        const { data, stat } = await this.session.get(path, { watch: this.onLease });
        const previous = this.lease;
        const same = previous?.kind === 'present' && previous.version === stat.version && previous.mzxid === stat.mzxid;
        next = same ? previous : { kind: 'present', version: stat.version, mzxid: stat.mzxid, released: data.toString() === RELEASED, seenAt: monotonicMs() };
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
        const stat = await this.session.exists(path, { watch: this.onLease });
        if (stat) {
          this.leaseDirty = true; // created meanwhile: read it
          return;
        }
        next = this.lease?.kind === 'absent' ? this.lease : { kind: 'absent', seenAt: monotonicMs() };
      }
      this.lease = next;
      this.readAtEvents = issuedAt;
      this.readOnConnection = this.session.connectedSince;
    } catch (error) {
      this.leaseDirty = true;
      throw error;
    } finally {
      this.reading = false;
    }
  }
}
