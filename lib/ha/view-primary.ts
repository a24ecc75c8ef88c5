import type { Member, MembershipSnapshot } from '../coordination';

/**
 * What a client may trust about the primary from its own view of the group. The view publishes
 * the acknowledged primary (one that has said it serves) and the service's generation (the
 * service node's czxid); a snapshot without them (an older view) falls back to the lowest
 * member, unacknowledged, and one unknown generation.
 */
interface AcknowledgingSnapshot extends MembershipSnapshot {
  readonly primary?: Member | undefined;
  readonly generation?: string;
}

/** Whether the snapshot says which member is the acknowledged primary. */
export function acknowledgesPrimary(snapshot: MembershipSnapshot): boolean {
  return 'primary' in snapshot;
}

/** The member to route primary/backup calls to: the acknowledged primary, else the lowest member. */
export function viewPrimary(snapshot: MembershipSnapshot): Member | undefined {
  return acknowledgesPrimary(snapshot) ? (snapshot as AcknowledgingSnapshot).primary : snapshot.leader;
}

/** The service's generation ('' when unknown: the service node is missing, or the view does not say). */
export function viewGeneration(snapshot: MembershipSnapshot): string {
  const g = (snapshot as AcknowledgingSnapshot).generation;
  return typeof g === 'string' ? g : '';
}
