import type { CoordinationError } from './coordination-error';
import type { Member } from './member-record';

/** The public shapes of a MembershipView: its snapshot, its change events and its options. */

export interface MembershipSnapshot {
  /** Members in election order (lowest sequence first). */
  readonly members: readonly Member[];
  /** The valid member with the lowest sequence: the head of the line (it may not serve yet). */
  readonly leader: Member | undefined;
  /**
   * The acknowledged primary (primary/backup mode): the head of the line once it has published its
   * lease node, i.e. once it serves. Undefined during a handover. Its `sequence` is the epoch.
   */
  readonly primary: Member | undefined;
  /**
   * The service's generation: its members node's czxid (hex) and creation time. Member sequences
   * (the epochs) count up in that node, so whenever it is created again (members/ or the service
   * node deleted, ZooKeeper lost its data) a new generation starts; epochs compare only within one.
   * "" until the members node has been seen.
   */
  readonly generation: string;
  /** Counts the changes this view has seen. */
  readonly version: number;
}

export interface MembershipChange {
  readonly snapshot: MembershipSnapshot;
  readonly joined: readonly Member[];
  readonly left: readonly Member[];
  readonly updated: readonly Member[];
}

export interface MembershipViewEvents {
  change: [change: MembershipChange];
  leader: [info: { member: Member | undefined; epoch: number | undefined }];
  /** The acknowledged primary changed (see MembershipSnapshot.primary). */
  primary: [info: { member: Member | undefined; epoch: number | undefined; generation: string }];
  /** The members node was created again: a new generation (the previous one, "" when none was known). */
  generation: [info: { generation: string; previous: string }];
  /** A member node whose data does not parse: skipped, never fatal. */
  invalid: [info: { path: string; error: CoordinationError }];
  /** A ZooKeeper error while refreshing; the view keeps its last snapshot and tries again. */
  error: [error: unknown];
}

export interface MembershipViewOptions {
  root?: string;
  /**
   * 'auto' (default): one persistent recursive watch on the members node when ZooKeeper has them
   * (3.6+), else — the server answers UNIMPLEMENTED — a children watch plus a data watch per member.
   * 'children': always the latter.
   */
  watchMode?: 'auto' | 'children';
}
