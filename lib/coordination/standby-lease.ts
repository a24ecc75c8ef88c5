import { monotonicMs } from '../base/clock';
import { ZkError, ZkSession } from '../zk';

/**
 * The second in line's standby lease (leadership.md, "Hot standby"): every lease/3 a write of its
 * own — a multi that only checks its member node, so it changes no node and wakes nobody — that
 * would let it serve until sendTime + lease, should the head hand leadership to it by name. Then a
 * graceful handover needs one ZooKeeper write (the release) instead of two (release, then the
 * successor's own lease write): the successor may act the moment it is told of the release.
 *
 * `freeze()` is called synchronously from the release marker's watch notification. ZooKeeper sends a
 * session's replies and notifications in zxid order on one connection and the client decodes them
 * in that order (only answers sent and received on one connection are counted; renew()), so
 * every answer counted before the freeze was for a write committed before the release; answers that
 * arrive after it are not counted. A standby lease therefore never reaches past
 * (release commit + lease), which is what everyone behind the successor waits out (see the proof).
 */
export class StandbyLease {
  private until = Number.NEGATIVE_INFINITY;
  private running = false;
  private frozen = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  /** Standby writes answered; a test reads it. */
  renewals = 0;

  constructor(private readonly session: ZkSession, readonly memberPath: string, private readonly leaseMs: number) {}

  /** Renews from now on (no-op when running, or once frozen: a frozen standby is spent). */
  start(): void {
    if (this.running || this.frozen) return;
    this.running = true;
    this.renewSoon(0);
  }

  /** Stops renewing and forgets the lease. */
  stop(): void {
    this.running = false;
    this.until = Number.NEGATIVE_INFINITY;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops counting answers; the lease keeps the end it had at this instant (see the class comment). */
  freeze(): void {
    if (this.frozen) return;
    this.frozen = true;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  /** Until when (monotonic) a handover by name may let us serve; -Infinity when none. */
  get validUntil(): number {
    return this.until;
  }

  private renewSoon(delayMs: number): void {
    if (!this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.renew();
    }, Math.max(0, delayMs));
  }

  private async renew(): Promise<void> {
    if (!this.running || this.inFlight) return;
    this.inFlight = true;
    const sentAt = monotonicMs();
    // The connection the write goes out on: only an answer on that same connection is ordered
    // against the release marker's notification (see the class comment). A write issued while cut
    // off waits in the client's queue and goes out *before* the SetWatches that replays the
    // marker's creation, so its answer would be counted first although it committed after the
    // release; one issued on a connection that broke is answered on the next. Neither counts.
    const connection = this.session.connectedSince;
    let next = this.leaseMs / 3;
    try {
      if (connection === Number.POSITIVE_INFINITY) throw new ZkError('CONNECTION_LOSS', 'cut off from ZooKeeper: no standby write');
      await this.session.multi([{ op: 'check', path: this.memberPath, version: -1 }]);
      // Frozen or stopped meanwhile: this answer may be for a write after the release; not counted.
      if (!this.running || this.frozen) return;
      if (this.session.connectedSince === connection) {
        this.renewals++;
        this.until = Math.max(this.until, sentAt + this.leaseMs);
        next = sentAt + this.leaseMs / 3 - monotonicMs();
      } else {
        next = 0; // answered on another connection: not counted, write again on this one
      }
    } catch (error) {
      // Our member node is gone: nothing to stand by for (the election notices and stops us).
      if (error instanceof ZkError && error.code === 'NO_NODE') {
        this.stop();
        return;
      }
      // Lost answer, a closed session, anything else: count nothing, try again soon.
      next = Math.min(this.leaseMs / 10, 50);
    } finally {
      this.inFlight = false;
    }
    this.renewSoon(next);
  }
}
