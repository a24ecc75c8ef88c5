import { wallClockMs } from '../base/clock';
import { ZkError, ZkSession } from '../zk';
import type { AclEntry, ZnodeStat } from '../zk';
import { CoordinationError } from './coordination-error';
import { enforceServiceAcls, serviceAcl } from './service-acl';
import type { ServicePaths } from './paths';

export type ServiceMode = 'primary-backup' | 'redundant';
export const SERVICE_MODES: readonly ServiceMode[] = ['primary-backup', 'redundant'];

export interface ServiceNodeData {
  readonly mode: ServiceMode;
  readonly createdAt: number;
  readonly layout: 1;
}

/**
 * Creates the service node (first member wins) and its members/leases/faults children, then checks
 * that the service runs in `mode` (a member that joins with another mode gets MODE_MISMATCH) and
 * that nodes which existed already are not more open than the ACL (fixed, or ACL_TOO_OPEN).
 */
export async function ensureService(
  session: ZkSession, paths: ServicePaths, mode: ServiceMode, acl?: readonly AclEntry[],
  onAcl?: (result: { fixed: string[]; unfixable: string[] }) => void,
): Promise<ServiceNodeData> {
  return (await ensureServiceNode(session, paths, mode, acl, onAcl)).data;
}

/**
 * ensureService, resolving also with the service node's stat as read. When the
 * service exists already — every registration but the first — it costs one round trip of four
 * reads: a create that fails with NODE_EXISTS is a write (it goes through ZooKeeper's log), and the
 * nodes were created one after the other.
 */
export async function ensureServiceNode(
  session: ZkSession, paths: ServicePaths, mode: ServiceMode, acl?: readonly AclEntry[],
  onAcl?: (result: { fixed: string[]; unfixable: string[] }) => void,
): Promise<{ data: ServiceNodeData; stat: ZnodeStat }> {
  const found = await existingService(session, paths);
  let existing: { data: ServiceNodeData; stat: ZnodeStat };
  if (found) {
    existing = found;
    checkMode(existing.data, paths, mode);
  } else {
    await session.retry(() => session.mkdirp(paths.root, undefined, { acl }));
    const data: ServiceNodeData = { mode, createdAt: wallClockMs(), layout: 1 };
    await session.retry(() => createIfAbsent(session, paths.servicePath, JSON.stringify(data), acl));
    existing = await readServiceNodeWithStat(session, paths);
    checkMode(existing.data, paths, mode);
    await session.retry(() => createIfAbsent(session, paths.members, undefined, acl));
    await session.retry(() => createIfAbsent(session, paths.leases, undefined, acl));
    await session.retry(() => createIfAbsent(session, paths.faults, undefined, acl));
  }
  // Nodes that existed before may be more open than configured: fixed here, or ACL_TOO_OPEN.
  const checked = await enforceServiceAcls(session, paths, serviceAcl(session, acl));
  if (onAcl && (checked.fixed.length > 0 || checked.unfixable.length > 0)) onAcl(checked);
  return existing;
}

/**
 * The service node and its stat when it and members/, leases/ and faults/ all exist (read together,
 * one round trip); undefined when one is missing or cannot be read — ensureServiceNode then goes
 * the long way, which creates what is missing and reports what is wrong.
 */
async function existingService(session: ZkSession, paths: ServicePaths): Promise<{ data: ServiceNodeData; stat: ZnodeStat } | undefined> {
  let read: [{ data: Buffer; stat: ZnodeStat }, ...(ZnodeStat | null)[]];
  try {
    read = await session.retry(() => Promise.all([
      session.get(paths.servicePath), session.exists(paths.members), session.exists(paths.leases), session.exists(paths.faults),
    ]));
  } catch (error) {
    if (error instanceof ZkError && !error.retryable && error.code !== 'SESSION_EXPIRED' && error.code !== 'CLOSED') return undefined;
    throw error;
  }
  const [service, ...dirs] = read;
  if (dirs.some((stat) => stat === null)) return undefined;
  return { data: parseServiceNode(service.data, paths.servicePath), stat: service.stat };
}

function checkMode(existing: ServiceNodeData, paths: ServicePaths, mode: ServiceMode): void {
  if (existing.mode !== mode) {
    throw new CoordinationError(
      'MODE_MISMATCH',
      `service "${paths.service}" runs in ${existing.mode} mode; this member asked for ${mode}`,
      { service: paths.service, existing: existing.mode, requested: mode },
    );
  }
}

/**
 * A generation: a node's czxid (hex) with its creation time — of the members node, whose sequences
 * are the epochs, so a new one starts whenever it is created again. The creation time is part of it
 * because a ZooKeeper that lost its data counts zxids from the start again, so a recreated node can
 * get the same czxid.
 */
export function generationOf(stat: { readonly czxid: bigint; readonly ctime: number }): string {
  return `${stat.czxid.toString(16)}.${stat.ctime}`;
}

export async function readServiceNode(session: ZkSession, paths: ServicePaths): Promise<ServiceNodeData> {
  return (await readServiceNodeWithStat(session, paths)).data;
}

async function readServiceNodeWithStat(session: ZkSession, paths: ServicePaths): Promise<{ data: ServiceNodeData; stat: ZnodeStat }> {
  const { data, stat } = await session.retry(() => session.get(paths.servicePath));
  return { data: parseServiceNode(data, paths.servicePath), stat };
}

export function parseServiceNode(data: Buffer, path: string): ServiceNodeData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    throw new CoordinationError('BAD_SERVICE_NODE', `${path}: service node data is not JSON`, { path });
  }
  const mode = (parsed as { mode?: unknown } | null)?.mode;
  if (typeof mode !== 'string' || !(SERVICE_MODES as readonly string[]).includes(mode)) {
    throw new CoordinationError('BAD_SERVICE_NODE', `${path}: "mode" must be one of ${SERVICE_MODES.join(', ')}`, { path });
  }
  return parsed as ServiceNodeData;
}

async function createIfAbsent(session: ZkSession, path: string, data: string | undefined, acl?: readonly AclEntry[]): Promise<void> {
  try {
    await session.create(path, data, { acl });
  } catch (error) {
    if (!(error instanceof ZkError && error.code === 'NODE_EXISTS')) throw error;
  }
}
