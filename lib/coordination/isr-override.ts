import { ZkError, ZkSession } from '../zk';
import type { AclEntry } from '../zk';
import { InSyncSet, IsrError, replicaKey, ANY_INCARNATION } from './in-sync-set';
import type { IsrRecord } from './in-sync-set';
import { RELEASED } from './lease-holder';
import { decodeRecord } from './member-record';
import { leaseNodeName, sortMemberNames } from './paths';
import type { ServicePaths } from './paths';

export interface ForceInSyncOptions {
  readonly acl?: readonly AclEntry[];
  /**
   * Force even though a primary serves (its lease node is live): the healthy set is replaced, and
   * whatever the forced member lacks is lost. Only for a primary known to be stuck.
   */
  readonly evenIfPrimaryServes?: boolean;
}

/**
 * The operator override (`zk-ha isr force`): names one member in sync whatever its state, after
 * every in-sync member was lost. Acknowledged writes that member never received are lost; the
 * record says so (`forced`), and the members behind it follow its history (a snapshot for any
 * that applied more). It refuses what would only do harm: a service with no set (nothing waits
 * on one: a replicated service's first primary, or a set deleted, lets any member lead), an id no
 * registered member has (a typo would leave no member allowed to serve), and a service whose
 * primary serves (it is not waiting; `evenIfPrimaryServes` overrides).
 */
export async function forceInSync(session: ZkSession, paths: ServicePaths, id: string, options: ForceInSyncOptions = {}): Promise<IsrRecord> {
  const set = new InSyncSet(session, paths, { acl: options.acl, mayWrite: () => true });
  const members = await registeredMembers(session, paths);
  if (!members.some((m) => m.id === id)) {
    const ids = [...new Set(members.map((m) => m.id))].sort();
    throw new IsrError('ISR_NOT_A_MEMBER', `no registered member of ${paths.service} has the id "${id}" (registered: ${ids.length ? ids.join(', ') : 'none'})`, { service: paths.service, id });
  }
  if (!options.evenIfPrimaryServes) {
    const serving = await servingMember(session, paths, members);
    if (serving !== undefined) {
      throw new IsrError('ISR_PRIMARY_SERVES', `${paths.service} has a serving primary ("${serving}"): it is not waiting for an in-sync member; forcing would replace a healthy set (pass --even-if-primary-serves only for a primary known to be stuck)`, { service: paths.service, primary: serving });
    }
  }
  for (;;) {
    const current = await set.read();
    if (current === undefined) {
      throw new IsrError('ISR_ABSENT', `${paths.service} has no in-sync set: nothing waits on one (it has not replicated anything, or its set is gone and any member may lead)`, { service: paths.service });
    }
    const next: IsrRecord = {
      epoch: current.record.epoch,
      members: [replicaKey(id, ANY_INCARNATION)],
      committedIndex: current.record.committedIndex,
      forced: true,
      // Kept: dropped, the old generation's epoch would fence the new generation's members again.
      ...(current.record.generation === undefined ? {} : { generation: current.record.generation }),
    };
    try {
      await set.write(next, current);
      return next;
    } catch (error) {
      if (error instanceof IsrError && error.code === 'ISR_CONFLICT') continue;
      throw error;
    }
  }
}

interface Registered { readonly name: string; readonly id: string; readonly owner: string }

/** Members whose records parse (a foreign or broken node names nobody). */
async function registeredMembers(session: ZkSession, paths: ServicePaths): Promise<Registered[]> {
  let names: string[];
  try {
    names = (await session.children(paths.members)).children;
  } catch (error) {
    if (error instanceof ZkError && error.code === 'NO_NODE') return [];
    throw error;
  }
  const out: Registered[] = [];
  for (const { name } of sortMemberNames(names)) {
    try {
      const { data, stat } = await session.get(`${paths.members}/${name}`);
      out.push({ name, id: decodeRecord(data, `${paths.members}/${name}`).id, owner: stat.ephemeralOwner });
    } catch {
      // Gone meanwhile, unreadable or not a record: not a member anyone could force.
    }
  }
  return out;
}

/** The id of a member whose lease node is live (it serves), if any. */
async function servingMember(session: ZkSession, paths: ServicePaths, members: readonly Registered[]): Promise<string | undefined> {
  for (const m of members) {
    const lease = `${paths.leases}/${leaseNodeName(m.name, m.owner)}`;
    const data = await session.get(lease).then(({ data }) => data.toString(), () => undefined);
    if (data !== undefined && data !== RELEASED) return m.id;
  }
  return undefined;
}
