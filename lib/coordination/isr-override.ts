import type { AclEntry, ZkSession } from '../zk';
import { startViewOnce } from './first-snapshot';
import { InSyncSet, IsrError, replicaKey, ANY_INCARNATION } from './in-sync-set';
import type { IsrRecord } from './in-sync-set';
import type { ServicePaths } from './paths';

export interface ForceInSyncOptions {
  readonly acl?: readonly AclEntry[];
  /**
   * Force even though a primary serves (its lease node is live): the healthy set is replaced, and
   * whatever the forced member lacks is lost. Only for a primary known to be stuck.
   */
  readonly evenIfPrimaryServes?: boolean;
  /** How long to wait for the member list (default 10 s). */
  readonly timeoutMs?: number;
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
  // The members and the acknowledged primary exactly as every client sees them.
  const { view, snapshot } = await startViewOnce(session, paths, options.timeoutMs ?? 10_000);
  view.stop();
  if (!snapshot.members.some((m) => m.record.id === id)) {
    const ids = [...new Set(snapshot.members.map((m) => m.record.id))].sort();
    throw new IsrError('ISR_NOT_A_MEMBER', `no registered member of ${paths.service} has the id "${id}" (registered: ${ids.length ? ids.join(', ') : 'none'})`, { service: paths.service, id });
  }
  const serving = snapshot.primary?.record.id;
  if (serving !== undefined && !options.evenIfPrimaryServes) {
    throw new IsrError('ISR_PRIMARY_SERVES', `${paths.service} has a serving primary ("${serving}"): it is not waiting for an in-sync member; forcing would replace a healthy set (pass --even-if-primary-serves only for a primary known to be stuck)`, { service: paths.service, primary: serving });
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
