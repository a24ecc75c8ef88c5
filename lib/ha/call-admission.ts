import { monotonicMs } from '../base/clock';
import type { Election, Member } from '../coordination';
import type { HaMetrics } from '../ops/metrics';
import { RpcError } from '../transport';
import type { AdmitDecision, AdmitHold } from '../transport';
import type { HaServerRole } from './ha-server-types';
import { HoldWindow, holdWindowMs } from './hold-window';
import { REPL_PREFIX } from './replication';
import type { Replication } from './replication';

const NO_EPOCH: AdmitDecision = Object.freeze({});
/**
 * `data` of a NOT_PRIMARY whose hint names the resigning primary's successor, which does not serve
 * yet: a client follows it only with calls it may repeat (primary-policy.ts).
 */
export const SUCCESSOR_HINT = Object.freeze({ successor: true });

/** What the admission reads of its HaServer, at the moment of each call. */
export interface AdmissionHost {
  readonly service: string;
  readonly id: string;
  readonly role: HaServerRole;
  readonly election: Election | undefined;
  readonly replication: Replication | undefined;
}

/**
 * The HaServer's gate in front of every handler: in primary/backup mode the per-call lease guard
 * (only the primary runs handlers, and only while its lease holds at dispatch), with NOT_PRIMARY
 * and a hint to the primary otherwise; in redundant mode every call passes. The member about to
 * become primary holds a call briefly instead of refusing it (a graceful handover: the old primary
 * hints its successor) and lets it run once it serves. It also notes when the last call came, for
 * close()'s quiet period.
 */
export class CallAdmission {
  private lastCallAt = 0;
  private admitted: AdmitDecision | undefined;
  private primaryHint: string | undefined;
  /** After this member resigned: its successor's URL, until the view names a primary. */
  private successorHint: string | undefined;
  private readonly notPrimaryCache = new Map<string | undefined, RpcError>();
  private readonly holds: HoldWindow | undefined;

  constructor(
    private readonly host: AdmissionHost,
    private readonly metrics: HaMetrics | undefined,
  ) {
    this.holds = host.election === undefined ? undefined : new HoldWindow(holdWindowMs(host.election.leaseMs));
  }

  admitMember(): AdmitDecision {
    this.lastCallAt = monotonicMs();
    return NO_EPOCH;
  }

  /**
   * The per-call lease guard of the primary. A call that finds this member about to serve (next in
   * line, or elected with replication still catching up) is held — once (`held`: it was already) —
   * until it serves or the hold window ends; it is then asked here again, so the lease is checked
   * right before the handler, never taken from the wait.
   */
  admitPrimary(method: string, held = false): RpcError | AdmitDecision | AdmitHold {
    const now = monotonicMs();
    const replication = this.host.replication;
    // Replication calls reach every member; they carry their own epoch check.
    if (replication !== undefined && method.startsWith(REPL_PREFIX)) return NO_EPOCH;
    this.lastCallAt = now;
    const election = this.host.election!;
    if (this.host.role !== 'stopping') {
      if (election.isLeader(now)) {
        if (replication === undefined || replication.ready) {
          // One frozen decision per epoch: admitting a call allocates nothing.
          const current = this.admitted;
          if (current !== undefined && current.epoch === election.epoch) return current;
          const admitted: AdmitDecision = Object.freeze({ epoch: election.epoch });
          this.admitted = admitted;
          return admitted;
        }
        if (!held) return this.holds!.hold();
      } else if (!held && this.successorHint === undefined && election.expectsToLead) {
        return this.holds!.hold();
      }
    }
    this.metrics?.call(this.host.service, 'server', method, 'NOT_PRIMARY', 0);
    const successor = this.successorHint !== undefined;
    const hint = this.successorHint ?? this.primaryHint;
    const key = successor ? `successor ${hint}` : hint;
    let error = this.notPrimaryCache.get(key);
    if (!error) {
      // One immutable error per hint: NOT_PRIMARY answers stay allocation-free during a failover storm.
      // A successor hint says so (SUCCESSOR_HINT): it names a member that does not serve yet.
      error = new RpcError('NOT_PRIMARY', `member ${this.host.id} is not the primary of "${this.host.service}"`, {
        notExecuted: true, retryable: true, leaderHint: hint, ...(successor ? { data: SUCCESSOR_HINT } : {}),
      });
      this.notPrimaryCache.clear();
      this.notPrimaryCache.set(key, error);
    }
    return error;
  }

  /**
   * The primary's URL for NOT_PRIMARY answers. When this member is itself the lowest in its view it
   * is about to be elected (or has just resigned and its view is a moment behind): no hint, so the
   * client waits for its own view rather than chasing the next in line, which may be a process
   * that died and whose node has not expired yet.
   */
  primaryIs(leader: Member | undefined): void {
    this.primaryHint = !leader || leader.record.id === this.host.id ? undefined : leader.record.url;
    if (this.primaryHint !== undefined) this.successorHint = undefined;
  }

  /**
   * This member resigned (stepDown, close): it knows a handover is under way, so its NOT_PRIMARY
   * answers name the member that succeeds it — the next valid member after it in its view — until
   * the view names a primary. That member holds the call until it serves.
   */
  resigned(successor: Member | undefined): void {
    this.successorHint = successor?.record.url;
    this.releaseHeld();
  }

  /** Elected: calls held for it run now, unless they must wait for replication to be ready too. */
  elected(): void {
    this.successorHint = undefined;
    if (this.host.replication === undefined) this.releaseHeld();
  }

  /**
   * Held calls are asked again now: this member serves (elected, replication ready) or will not
   * soon (demoted, closing). Those not admitted then are refused.
   */
  releaseHeld(): void {
    this.holds?.release();
  }

  /**
   * After leaving the group, keep answering until clients have seen us leave (no call for a short
   * while): a socket closed under a request that is still in flight to us would make its outcome
   * unknown to the caller. Calls answered meanwhile are served (redundant) or refused with
   * NOT_PRIMARY (primary/backup), so they go elsewhere.
   */
  async quietPeriod(until: number): Promise<void> {
    const quietMs = 150;
    while (monotonicMs() < until && monotonicMs() - this.lastCallAt < quietMs) {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
