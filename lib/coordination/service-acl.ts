import { permBits, permNames, ZkError } from '../zk';
import type { AclEntry, ZkSession } from '../zk';
import { CoordinationError } from './coordination-error';
import type { ServicePaths } from './paths';

/**
 * The `acl` option over a service's whole subtree. Every node zk-ha creates under a service — the
 * service node, members/, leases/, faults/, member, lease and journal nodes — is created with
 * `serviceAcl(session, acl)`; and at start `enforceServiceAcls` makes sure nodes that already exist
 * are not more open than that, or refuses to start naming the node.
 */

/** The ACL nodes of a service are created with: the `acl` option, else the session's defaultAcl; undefined = open. */
export function serviceAcl(session: ZkSession, acl: readonly AclEntry[] | undefined): readonly AclEntry[] | undefined {
  return acl ?? session.options.defaultAcl;
}

const WORLD = 'world';
const ANYONE = 'anyone';

/**
 * What `actual` grants beyond `wanted`, e.g. ["world:anyone: create, write"]; empty when it
 * grants nothing more. An `auth` entry in `wanted` stands for the identities of the session that
 * created the node (ZooKeeper stores those instead), so it covers entries of the session's own
 * auth schemes.
 */
export function excessGrants(actual: readonly AclEntry[], wanted: readonly AclEntry[], ownSchemes: readonly string[] = []): string[] {
  let everyone = 0;
  let creator = 0;
  const byId = new Map<string, number>();
  for (const w of wanted) {
    const bits = permBits(w.perms);
    if (w.scheme === WORLD && w.id === ANYONE) everyone |= bits;
    else if (w.scheme === 'auth') creator |= bits;
    else byId.set(`${w.scheme}:${w.id}`, (byId.get(`${w.scheme}:${w.id}`) ?? 0) | bits);
  }
  const out: string[] = [];
  for (const a of actual) {
    let allowed = everyone | (byId.get(`${a.scheme}:${a.id}`) ?? 0);
    // ZooKeeper shows digest ids as "user:x" to a session without admin on the node: match by user.
    if (a.scheme === 'digest' && a.id.endsWith(':x')) {
      const user = a.id.slice(0, -1);
      for (const [key, bits] of byId) if (key.startsWith(`digest:${user}`)) allowed |= bits;
    }
    if (ownSchemes.includes(a.scheme)) allowed |= creator;
    const extra = permBits(a.perms) & ~allowed;
    if (extra !== 0) out.push(`${a.scheme}:${a.id}: ${permNames(extra).join(', ')}`);
  }
  return out;
}

export type AclCheck = 'ok' | 'fixed' | 'absent';

/**
 * Reads `path`'s ACL; when it grants more than `wanted`, replaces it with `wanted` (conditioned on
 * the ACL version read) if this session may, or throws ACL_TOO_OPEN naming the node.
 */
export async function enforceAcl(session: ZkSession, path: string, wanted: readonly AclEntry[]): Promise<AclCheck> {
  const ownSchemes = session.options.auth.map((a) => a.scheme);
  for (let attempt = 0; ; attempt++) {
    let current: Awaited<ReturnType<ZkSession['getAcl']>>;
    try {
      current = await session.retry(() => session.getAcl(path));
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return 'absent';
      throw error;
    }
    const excess = excessGrants(current.acl, wanted, ownSchemes);
    if (excess.length === 0) return 'ok';
    try {
      await session.retry(() => session.setAcl(path, wanted, current.stat.aversion));
      return 'fixed';
    } catch (error) {
      // Changed meanwhile: look again (a bounded number of times).
      if (error instanceof ZkError && error.code === 'BAD_VERSION' && attempt < 3) continue;
      if (error instanceof ZkError && error.code === 'NO_NODE') return 'absent';
      const why = error instanceof ZkError && error.code === 'NO_AUTH' ? 'this session may not change its ACL (no admin permission)' : `setAcl failed (${String(error)})`;
      throw new CoordinationError(
        'ACL_TOO_OPEN',
        `${path} grants more than the configured acl (${excess.join('; ')}) and ${why}; refusing to start`,
        { path, excess },
        { cause: error },
      );
    }
  }
}

/**
 * The start-time check of a service subtree against `wanted`: the service node and members/,
 * leases/, faults/ are fixed or refused (ACL_TOO_OPEN). The member and lease nodes under them
 * belong to other sessions: an open one (anyone could rewrite a member's URL) is fixed when this
 * session may, otherwise only listed in `unfixable` — refusing to start because of a node another
 * session made would let that session keep every member out. Nothing to do when `wanted` is open.
 */
export async function enforceServiceAcls(
  session: ZkSession, paths: ServicePaths, wanted: readonly AclEntry[] | undefined,
): Promise<{ fixed: string[]; unfixable: string[] }> {
  const fixed: string[] = [];
  const unfixable: string[] = [];
  if (!wanted || excessGrants([{ scheme: WORLD, id: ANYONE, perms: ['all'] }], wanted).length === 0) return { fixed, unfixable };
  for (const path of [paths.servicePath, paths.members, paths.leases, paths.faults]) {
    if ((await enforceAcl(session, path, wanted)) === 'fixed') fixed.push(path);
  }
  for (const dir of [paths.members, paths.leases]) {
    let children: string[];
    try {
      children = (await session.retry(() => session.children(dir))).children;
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') continue;
      throw error;
    }
    await Promise.all(children.map(async (name) => {
      const path = `${dir}/${name}`;
      try {
        if ((await enforceAcl(session, path, wanted)) === 'fixed') fixed.push(path);
      } catch (error) {
        if (!(error instanceof CoordinationError && error.code === 'ACL_TOO_OPEN')) throw error;
        unfixable.push(path);
      }
    }));
  }
  return { fixed, unfixable };
}
