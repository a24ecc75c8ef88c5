import { EventEmitter } from 'events';
import { monotonicMs } from '../base/clock';
import { ZkError, ZkSession } from '../zk';
import type { AclEntry, MultiOp } from '../zk';
import { namedReleaseMarkerPath } from './paths';

/** Data of a lease node whose holder has stopped serving for good (a graceful handover). */
export const RELEASED = 'released';

export type LeaseEndReason = 'lease-refused' | 'lease-error' | 'released' | 'stopped';

export interface LeaseHolderEvents {
  /** The lease ended for good: a renewal was refused (node gone or moved) or it was released/stopped. */
  ended: [info: { reason: LeaseEndReason; error?: unknown }];
}

export interface LeaseHolderOptions {
  readonly memberPath: string;
  readonly leasePath: string;
  /** Created in the release multi, consumed by the successor's claim (see releaseMarkerPath). */
  readonly releaseMarkerPath?: string;
  readonly leaseMs: number;
  readonly acl?: readonly AclEntry[];
}

/**
 * The primary's side of the lease (DESIGN.md, "Leadership"). The lease node is created — and then
 * renewed every ~lease/3 — by a multi that also checks the member node exists: once an operator or a
 * successor removed the member node, no renewal can succeed. Every renewal is a setData on the
 * version last written, so a successor's version-conditioned takeover and a renewal exclude each
 * other. The lease holds until sendTime(last answered renewal) + lease on the monotonic clock; a
 * renewal whose answer was lost extends nothing.
 */
export class LeaseHolder extends EventEmitter<LeaseHolderEvents> {
  private until = Number.NEGATIVE_INFINITY;
  private version = -1;
  private active = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly markersSent: string[] = [];
  /** How many times the lease ended: acquire() must not bring back one that ended while it was out. */
  private ends = 0;
  /** Renewals answered; a test and the bench read it. */
  renewals = 0;
  /**
   * Why the last acquire() was refused: NO_NODE (our member node, or leases/ itself, is gone) or
   * NODE_EXISTS (a node is in the way at our lease path).
   */
  refusal: 'NO_NODE' | 'NODE_EXISTS' | undefined;

  constructor(private readonly session: ZkSession, readonly options: LeaseHolderOptions) {
    super();
  }

  /** The lease holds at `now` (monotonic). */
  holds(now = monotonicMs()): boolean {
    return this.active && now < this.until;
  }

  remainingMs(now = monotonicMs()): number {
    return this.active ? Math.max(0, this.until - now) : 0;
  }

  get nodeVersion(): number {
    return this.version;
  }

  /**
   * Creates the lease node (the first renewal: it publishes that this member serves). Resolves true
   * once the lease holds; false when the member node is gone or the node exists already. `submit`
   * sends the ops inside a bigger multi instead (a takeover that publishes our lease in the same
   * write); it resolves false when that multi failed for reasons of its own.
   */
  async acquire(submit?: (ops: readonly MultiOp[]) => Promise<boolean>): Promise<boolean> {
    const { memberPath, leasePath, acl } = this.options;
    const ops: MultiOp[] = [
      { op: 'check', path: memberPath, version: -1 },
      { op: 'create', path: leasePath, data: 'serving', mode: 'ephemeral', acl },
    ];
    const sentAt = monotonicMs();
    // Ended while the creation was out (an adopted lease released or stopped meanwhile): stay ended.
    const ends = this.ends;
    try {
      if (submit) {
        if (!(await submit(ops))) return false;
      } else {
        await this.session.multi(ops);
      }
    } catch (error) {
      if (error instanceof ZkError && error.retryable) {
        // The answer was lost: the node may exist. Adopt it if it is ours, without counting it.
        const found = await this.readOwn().catch(() => undefined);
        if (found === undefined || this.ends !== ends) return false;
        this.version = found;
        this.active = true;
        this.renewSoon(0);
        return true;
      }
      if (error instanceof ZkError && (error.code === 'NO_NODE' || error.code === 'NODE_EXISTS')) {
        this.refusal = error.code;
        return false;
      }
      throw error;
    }
    if (this.ends !== ends) return false;
    this.version = 0;
    this.active = true;
    this.extend(sentAt);
    this.renewSoon(this.options.leaseMs / 3);
    return true;
  }

  /** Stops renewing; the lease ends at once (no call is admitted after this returns). */
  stop(): void {
    this.end('stopped');
  }

  /**
   * Graceful end: stop serving, and return the writes that mark the node RELEASED, for the caller
   * to send in the same multi as its member node's deletion (the successor then sees both at once
   * and may act at once) — alternatives, best first. Unconditional: only this holder writes its
   * node, and a renewal still in flight was sent earlier on the same session, so it lands first;
   * RELEASED is the last version either way, written after the last call was admitted. Empty when
   * there is nothing to release. With it goes the release marker (ephemeral, ours): the successor's
   * claim multi deletes it, so that claim can only commit after this write — it need not read our
   * lease first. Given the `successor` (the member right behind us), the first alternative names it:
   * its marker path carries the successor's name and the multi checks its member node, so the marker
   * is a promise to that member alone, which may serve on its standby lease the moment it hears of it
   * (leadership.md, "Hot standby"). Should that member be gone, the second alternative is the plain
   * release.
   */
  releaseOps(successor?: { readonly name: string; readonly path: string }): MultiOp[][] {
    const wasActive = this.active;
    this.end('released');
    if (!wasActive || this.version < 0) return [];
    const { leasePath, releaseMarkerPath, acl } = this.options;
    const mark: MultiOp = { op: 'set', path: leasePath, data: RELEASED, version: -1 };
    if (releaseMarkerPath === undefined) return [[mark]];
    const plain: MultiOp[] = [mark, { op: 'create', path: releaseMarkerPath, mode: 'ephemeral', acl }];
    this.markersSent.push(releaseMarkerPath);
    if (!successor) return [plain];
    const named = namedReleaseMarkerPath(releaseMarkerPath, successor.name);
    this.markersSent.push(named);
    return [[mark, { op: 'check', path: successor.path, version: -1 }, { op: 'create', path: named, mode: 'ephemeral', acl }], plain];
  }

  /**
   * Serve at once, until `until` (a standby lease's end, monotonic), before the lease node exists:
   * a handover by name (see Election). acquire() then creates the node and the lease runs from its
   * send time, as for any first renewal.
   */
  adopt(until: number): void {
    this.active = true;
    this.until = until;
  }

  /** Deletes the lease node and any release marker the successor left (best effort): after a release or a refused renewal. */
  async remove(): Promise<void> {
    await Promise.all([this.options.leasePath, ...this.markersSent].map((path) =>
      // Gone already, or the session ended: an ephemeral node goes with it. A node there with
      // children is a foreign persistent one (ours are ephemeral): it goes with what is below it.
      this.session.delete(path).catch((error: unknown) =>
        (error instanceof ZkError && error.code === 'NOT_EMPTY' ? this.session.deleteRecursive(path).catch(() => undefined) : undefined))));
  }

  private end(reason: LeaseEndReason, error?: unknown): void {
    if (!this.active) return;
    this.ends++;
    this.active = false;
    this.until = Number.NEGATIVE_INFINITY;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.emit('ended', { reason, error });
  }

  private extend(sentAt: number): void {
    const until = sentAt + this.options.leaseMs;
    if (until > this.until) this.until = until;
  }

  private renewSoon(delayMs: number): void {
    if (!this.active) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.renew();
    }, Math.max(0, delayMs));
  }

  /** One renewal at a time: two in flight on the same version would refuse each other. */
  private async renew(): Promise<void> {
    if (!this.active) return;
    const { memberPath, leasePath, leaseMs } = this.options;
    const sentAt = monotonicMs();
    try {
      const results = await this.session.multi([
        { op: 'check', path: memberPath, version: -1 },
        { op: 'set', path: leasePath, data: 'serving', version: this.version },
      ]);
      const stat = results[1]?.stat;
      // Ended meanwhile (a handover): the write landed all the same; the RELEASED write lands after it.
      if (!this.active) {
        this.version = stat ? stat.version : this.version + 1;
        return;
      }
      if (stat && stat.ephemeralOwner !== this.session.sessionId) {
        this.end('lease-refused', new ZkError('BAD_VERSION', `${leasePath} is not owned by session ${this.session.sessionId}`, { path: leasePath }));
        return;
      }
      this.version = stat ? stat.version : this.version + 1;
      this.renewals++;
      this.extend(sentAt);
      this.renewSoon(sentAt + leaseMs / 3 - monotonicMs());
    } catch (error) {
      if (!this.active) return;
      if (error instanceof ZkError && (error.code === 'NO_NODE' || error.code === 'BAD_VERSION')) {
        this.end('lease-refused', error);
        return;
      }
      if (error instanceof ZkError && error.retryable) {
        // Lost answer: learn the version the node has now (our write may have landed), count nothing.
        try {
          const found = await this.readOwn();
          if (!this.active) return;
          if (found === undefined) {
            this.end('lease-refused', error);
            return;
          }
          this.version = found;
        } catch {
          // Still no answer: the lease runs out unless a later renewal gets through.
        }
        this.renewSoon(Math.min(leaseMs / 10, 50));
        return;
      }
      this.end('lease-error', error);
    }
  }

  /** The node's version if it exists and is ours, else undefined. */
  private async readOwn(): Promise<number | undefined> {
    const stat = await this.session.exists(this.options.leasePath);
    if (!stat || stat.ephemeralOwner !== this.session.sessionId) return undefined;
    return stat.version;
  }
}
