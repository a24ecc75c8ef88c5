import { startViewOnce } from '../../lib/coordination/first-snapshot';
import type { InvalidMemberNode } from '../../lib/coordination/first-snapshot';
import type { Member, MembershipSnapshot, ServiceMode, ServicePaths } from '../../lib/coordination';

/** A member as the CLI prints it (text columns and --json fields). */
export interface MemberRow {
  readonly sequence: number;
  readonly node: string;
  readonly id: string;
  readonly url: string;
  readonly weight: number;
  readonly zone: string | null;
  readonly host: string;
  readonly pid: number;
  /** Session id (hex) owning the ephemeral node. */
  readonly owner: string;
  readonly startedAt: string;
  readonly version: string;
  readonly meta: Readonly<Record<string, unknown>> | null;
}

/** A member node whose data did not parse: clients skip it; the operator should see it. */
export type InvalidRow = InvalidMemberNode;

export interface ServiceState {
  readonly service: string;
  readonly path: string;
  readonly mode: ServiceMode;
  readonly members: readonly MemberRow[];
  /** Lowest sequence in primary/backup mode; null when empty or in redundant mode. */
  readonly primary: MemberRow | null;
  /** The primary's sequence number (its fencing token), or null. */
  readonly epoch: number | null;
  readonly invalid: readonly InvalidRow[];
}

export function memberRow(member: Member): MemberRow {
  const r = member.record;
  return {
    sequence: member.sequence,
    node: member.name,
    id: r.id,
    url: r.url,
    weight: r.weight,
    zone: r.zone ?? null,
    host: r.host,
    pid: r.pid,
    owner: member.owner,
    startedAt: new Date(r.startedAt).toISOString(),
    version: r.version,
    meta: r.meta ?? null,
  };
}

export function stateOf(paths: ServicePaths, mode: ServiceMode, snapshot: MembershipSnapshot, invalid: readonly InvalidRow[]): ServiceState {
  const members = snapshot.members.map(memberRow);
  const primary = mode === 'primary-backup' && members.length > 0 ? members[0]! : null;
  return { service: paths.service, path: paths.servicePath, mode, members, primary, epoch: primary?.sequence ?? null, invalid };
}

/** Starts a MembershipView and waits for its first snapshot (lib/coordination/first-snapshot.ts). */
export const startView = startViewOnce;
