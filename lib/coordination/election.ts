import { EventEmitter } from 'events';
import { monotonicMs } from '../base/clock';
import { fraction } from '../base/options';
import { ZkError, ZkSession } from '../zk';
import type { Membership, OwnNode } from './membership';
import { sortMemberNames } from './paths';
import { SerialTask } from './serial-task';

export type DemotionReason = 'session-lost' | 'lease-expired' | 'resigned' | 'node-deleted' | 'ownership' | 'closed' | 'not-lowest';

export interface ElectionEvents {
  elected: [info: { epoch: number; node: string }];
  demoted: [info: { epoch: number; reason: DemotionReason }];
  /** A ZooKeeper error during an evaluation; it is tried again. */
  error: [error: unknown];
}

export interface ElectionOptions {
  /** Leadership holds only while `now - confirmedAt < sessionTimeout * leaseFraction`. Default 0.5. */
  readonly leaseFraction?: number;
}

export interface ElectionStats {
  /** Predecessor-watch notifications received: one per departure ahead of us, never N. */
  wakeups: number;
  evaluations: number;
}

/**
 * Leader election over a Membership: the lowest sequence leads, each member watches only its
 * predecessor (no herd effect), and epoch = the leader's sequence number (a fencing token that only
 * grows). A member leads only while its node's ephemeralOwner is its current session and its
 * lease holds.
 */
export class Election extends EventEmitter<ElectionEvents> {
  readonly leaseFraction: number;
  readonly stats: ElectionStats = { wakeups: 0, evaluations: 0 };
  private leading: { epoch: number; node: string } | undefined;
  private running = false;
  /** Evaluations one at a time; ZooKeeper errors are retried (and reported to 'error' listeners only). */
  private readonly task = new SerialTask(() => this.evaluate(), (error) => {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    return !(error instanceof ZkError && error.code === 'CLOSED');
  }, 200);
  private watchToken = 0;
  private leaseTimer: NodeJS.Timeout | undefined;

  private readonly onRegistered = (): void => this.schedule();
  private readonly onUnregistered = (info: { reason: string }): void => {
    const reason: DemotionReason =
      info.reason === 'session-lost' ? 'session-lost' : info.reason === 'deleted' ? 'node-deleted' : info.reason === 'resign' ? 'resigned' : 'closed';
    this.demote(reason);
  };
  private readonly onLost = (): void => this.demote('session-lost');
  private readonly onSuspended = (): void => this.armLeaseTimer();
  private readonly onReconnected = (): void => {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.schedule();
  };

  constructor(
    private readonly session: ZkSession,
    private readonly membership: Membership,
    options: ElectionOptions = {},
  ) {
    super();
    this.leaseFraction = fraction('leaseFraction', options.leaseFraction, 0.5);
  }

  /** The epoch while leading, else undefined. */
  get epoch(): number | undefined {
    return this.leading?.epoch;
  }

  /**
   * The check a primary makes before serving each call: elected, and the lease holds now. A leader
   * paused (GC, SIGSTOP) or cut off from ZooKeeper fails this before its session can expire.
   */
  isLeader(now = monotonicMs()): boolean {
    return this.leading !== undefined && this.session.leaseHolds(this.leaseFraction, now);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.task.start();
    this.membership.on('registered', this.onRegistered);
    this.membership.on('unregistered', this.onUnregistered);
    this.session.on('lost', this.onLost);
    this.session.on('suspended', this.onSuspended);
    this.session.on('reconnected', this.onReconnected);
    this.schedule();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.membership.off('registered', this.onRegistered);
    this.membership.off('unregistered', this.onUnregistered);
    this.session.off('lost', this.onLost);
    this.session.off('suspended', this.onSuspended);
    this.session.off('reconnected', this.onReconnected);
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.task.stop();
    this.watchToken++;
    this.demote('closed');
  }

  /**
   * Hands leadership over: stop leading first (so no call is admitted after this point), run
   * `beforeRelease`, then give up the node and register again at the back of the line — or leave the
   * group when `rejoin` is false.
   */
  async resign(opts: { rejoin?: boolean; beforeRelease?: () => Promise<void> } = {}): Promise<void> {
    this.demote('resigned');
    // E.g. let calls admitted while leading finish, so the successor never overlaps with them.
    if (opts.beforeRelease) await opts.beforeRelease();
    if (opts.rejoin === false) {
      this.stop();
      await this.membership.leave();
      return;
    }
    await this.membership.requeue();
  }

  private demote(reason: DemotionReason): void {
    const was = this.leading;
    if (!was) return;
    this.leading = undefined;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.emit('demoted', { epoch: was.epoch, reason });
  }

  /** While suspended, leadership ends when the lease runs out unless the connection comes back first. */
  private armLeaseTimer(): void {
    if (!this.leading) return;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    const check = (): void => {
      if (!this.leading) return;
      const remaining = this.session.leaseRemainingMs(this.leaseFraction);
      if (this.session.state === 'connected' && remaining > 0) return;
      if (remaining <= 0) this.demote('lease-expired');
      else this.leaseTimer = setTimeout(check, remaining + 1);
    };
    check();
  }

  private schedule(): void {
    this.task.schedule();
  }

  private async evaluate(): Promise<void> {
    const own = this.membership.node;
    if (!own || own.sessionId !== this.session.sessionId) return;
    this.stats.evaluations++;
    const { children } = await this.session.children(this.membership.paths.members);
    if (this.membership.node !== own) return this.schedule();
    const ordered = sortMemberNames(children);
    const index = ordered.findIndex((o) => o.name === own.name);
    if (index === -1) return; // our node is gone: Membership registers again and wakes us
    if (index === 0) return this.becomeLeaderIfOwner(own);
    if (this.leading) this.demote('not-lowest');
    await this.watchPredecessor(ordered[index - 1]!.name);
  }

  private async becomeLeaderIfOwner(own: OwnNode): Promise<void> {
    const stat = await this.session.exists(own.path);
    if (!stat) return;
    if (stat.ephemeralOwner !== this.session.sessionId) {
      // A node left behind by an earlier session of ours (or another process with our id): never trust it.
      this.demote('ownership');
      return;
    }
    if (this.leading?.node === own.name || this.membership.node !== own) return;
    this.leading = { epoch: own.sequence, node: own.name };
    this.emit('elected', { epoch: own.sequence, node: own.name });
    if (this.session.state === 'suspended') this.armLeaseTimer();
  }

  private async watchPredecessor(name: string): Promise<void> {
    const token = ++this.watchToken;
    const path = `${this.membership.paths.members}/${name}`;
    const stat = await this.session.exists(path, {
      watch: () => {
        if (token !== this.watchToken) return; // superseded by a newer watch on the same departure
        this.stats.wakeups++;
        this.schedule();
      },
    });
    if (!stat) this.schedule(); // it left between getChildren and exists
  }
}
