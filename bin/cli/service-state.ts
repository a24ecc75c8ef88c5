import { MembershipView } from '../../lib/coordination';
import type { Member, MembershipSnapshot, ServiceMode, ServicePaths } from '../../lib/coordination';
import { ZkError, ZkSession } from '../../lib/zk';

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
export interface InvalidRow {
  readonly path: string;
  readonly error: string;
}

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

/**
 * Starts a MembershipView — the same ordering and record parsing as every client — and waits for
 * its first snapshot. The view retries ZooKeeper errors forever; a one-shot command must not, so
 * the first error that a retry cannot cure (NO_AUTH, ...) fails the load.
 */
export async function startView(session: ZkSession, paths: ServicePaths, timeoutMs: number): Promise<{ view: MembershipView; snapshot: MembershipSnapshot; invalid: InvalidRow[] }> {
  const view = new MembershipView(session, paths.service, { root: paths.root });
  const invalid: InvalidRow[] = [];
  view.on('invalid', ({ path, error }) => invalid.push({ path, error: error.message }));
  let onError: ((error: unknown) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    onError = (error: unknown): void => {
      if (error instanceof ZkError && error.retryable) return;
      reject(error);
    };
    view.on('error', onError);
    // Retryable errors only: ZooKeeper went away after the connect; do not wait forever.
    timer = setTimeout(() => reject(new ZkError('TIMEOUT', `no member list within ${timeoutMs} ms`, { path: paths.members })), timeoutMs);
  });
  try {
    const snapshot = await Promise.race([view.start(), failed]);
    return { view, snapshot, invalid };
  } catch (error) {
    view.stop();
    throw error;
  } finally {
    clearTimeout(timer);
    if (onError) view.off('error', onError);
  }
}
