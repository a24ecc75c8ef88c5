import type { CoordinationError } from './coordination-error';

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
  /**
   * Hot standby (leadership.md): the second in line renews a standby lease — one check-only
   * ZooKeeper write per lease/3, which changes no node and wakes nobody — so that a graceful
   * handover (`resign`, `stepDown`) costs one ZooKeeper write instead of two: the successor serves
   * the moment it is told of the release. false halves the renewal writes of a service (the head's
   * alone); a handover then waits for the successor's own lease write. Default true.
   */
  readonly standby?: boolean;
}

export interface ElectionStats {
  /** Predecessor-watch notifications received: the member right ahead of us (behind the second in line) left or changed. */
  wakeups: number;
  /** Notifications about the head's member and lease node (renewals included), received by the second in line only. */
  headEvents: number;
  /**
   * Notifications that a member node ahead of us changed or went (the head's, or our predecessor's):
   * `wakeups` plus the head's member-node events, without lease events (renewals). A leader change
   * notifies the second in line only; those behind it learn of it by reads.
   */
  notified: number;
  evaluations: number;
  takeovers: number;
  /**
   * Claims sent on the head's departure notification, conditioned on its release marker (before
   * any read: see leadership.md, "Graceful handover"); `releaseClaimsWon` of them elected us.
   */
  releaseClaims: number;
  releaseClaimsWon: number;
  /** Handovers by name served at once on our standby lease (hot standby). */
  standbyHandovers: number;
}

/** Defaults (DESIGN.md): fail over in about one lease, ride out GC pauses shorter than it. */
export const DEFAULT_LEASE_MS = 500;
export const DEFAULT_DRIFT_MARGIN = 0.1;
