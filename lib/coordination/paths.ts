import { InvalidOptionError } from '../base/errors';

export const DEFAULT_ROOT = '/zk-ha';
export const MEMBER_PREFIX = 'm-';

/** The znode paths of one service (DESIGN.md, "ZooKeeper layout"). */
export interface ServicePaths {
  readonly root: string;
  readonly service: string;
  readonly servicePath: string;
  readonly members: string;
  /** Lease nodes of serving primaries: `<member node name>.<owner session>` (see leaseNodeName). */
  readonly leases: string;
  readonly faults: string;
}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function servicePaths(service: string, root: string = DEFAULT_ROOT): ServicePaths {
  if (typeof service !== 'string' || !SERVICE_NAME.test(service)) {
    throw new InvalidOptionError('service', `must match ${SERVICE_NAME} (letters, digits, "_", ".", "-"), got ${JSON.stringify(service)}`);
  }
  if (typeof root !== 'string' || !root.startsWith('/') || (root.length > 1 && root.endsWith('/')) || root.includes('//')) {
    throw new InvalidOptionError('root', `must be an absolute znode path like "/zk-ha", got ${JSON.stringify(root)}`);
  }
  const servicePath = root === '/' ? `/${service}` : `${root}/${service}`;
  return { root, service, servicePath, members: `${servicePath}/members`, leases: `${servicePath}/leases`, faults: `${servicePath}/faults` };
}

/** The sequence number of a member node name "m-0000000042" (42), or undefined for any other name. */
export function memberSequence(name: string): number | undefined {
  // A character loop, not a regex: every view parses every member name on every change.
  if (name.length !== MEMBER_PREFIX.length + 10 || !name.startsWith(MEMBER_PREFIX)) return undefined;
  let value = 0;
  for (let i = MEMBER_PREFIX.length; i < name.length; i++) {
    const digit = name.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return value;
}

/** Member node names sorted by sequence (the election order); foreign names are dropped. */
export function sortMemberNames(names: readonly string[]): { name: string; sequence: number }[] {
  const out: { name: string; sequence: number }[] = [];
  for (const name of names) {
    const sequence = memberSequence(name);
    if (sequence !== undefined) out.push({ name, sequence });
  }
  return out.sort((a, b) => a.sequence - b.sequence);
}

/**
 * The lease node of a member: its node name plus the session that owns it. The session in the name
 * makes a lease node unique even when a recreated service node hands the same member name out again,
 * so a renewal can never land on another member's lease.
 */
export function leaseNodeName(memberName: string, ownerSession: string): string {
  return `${memberName}.${ownerSession}`;
}

/**
 * The release marker of a lease node: created (ephemeral, by the holder's session) in the multi
 * that marks the lease RELEASED and deletes the member node, and deleted by the successor's claim
 * multi — which therefore commits only after a release (leadership.md, "Graceful handover"). A
 * child of the service node: client views watch members/ and leases/ only.
 */
export function releaseMarkerPath(paths: ServicePaths, leaseName: string): string {
  return `${paths.servicePath}/released.${leaseName}`;
}

/**
 * A release marker that names the successor (leadership.md, "Hot standby"): the release multi that
 * creates it also checks that member's node, so its creation tells that member alone that the head
 * released with it right behind — it may serve on its standby lease at once.
 */
export function namedReleaseMarkerPath(markerPath: string, successorName: string): string {
  return `${markerPath}.to.${successorName}`;
}
