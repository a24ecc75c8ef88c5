import { createHash } from 'crypto';
import { ACL, Id, Permission } from 'node-zookeeper-client';

/**
 * node-zookeeper-client's ACL as far as lib/zk reads it, declared locally so that the published
 * .d.ts files never import node-zookeeper-client (which ships no types). Values are real ACL objects.
 */
export interface RawAcl {
  readonly permission: number;
  readonly id: { readonly scheme: string; readonly id: string };
}

export type Perm = 'read' | 'write' | 'create' | 'delete' | 'admin' | 'all';

/** A ZooKeeper ACL entry in plain data: scheme, id and permissions. */
export interface AclEntry {
  readonly scheme: string;
  readonly id: string;
  readonly perms: readonly Perm[];
}

const PERM_BITS: Record<Perm, number> = {
  read: Permission.READ, write: Permission.WRITE, create: Permission.CREATE,
  delete: Permission.DELETE, admin: Permission.ADMIN, all: Permission.ALL,
};

/** The id ZooKeeper's digest scheme stores: `user:base64(sha1("user:password"))`. */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

export const acl = {
  /** Anyone may do anything (ZooKeeper's OPEN_ACL_UNSAFE). */
  open(): AclEntry[] { return [{ scheme: 'world', id: 'anyone', perms: ['all'] }]; },
  /** Anyone may read. */
  worldRead(): AclEntry[] { return [{ scheme: 'world', id: 'anyone', perms: ['read'] }]; },
  /** The digest user `user:password` may do `perms`. */
  digest(user: string, password: string, perms: readonly Perm[] = ['all']): AclEntry {
    return { scheme: 'digest', id: digestId(user, password), perms };
  },
};

/** The permission bits of `perms` ('all' = every bit). */
export function permBits(perms: readonly Perm[]): number {
  return perms.reduce((bits, p) => bits | (PERM_BITS[p] ?? 0), 0);
}

/** The names of the bits in `bits`, e.g. ['write', 'delete']. */
export function permNames(bits: number): Perm[] {
  return (Object.keys(PERM_BITS) as Perm[]).filter((p) => p !== 'all' && (bits & PERM_BITS[p]) !== 0);
}

export function toRawAcls(entries: readonly AclEntry[]): RawAcl[] {
  return entries.map((e) => new ACL(e.perms.reduce((bits, p) => bits | PERM_BITS[p], 0), new Id(e.scheme, e.id)));
}

export function fromRawAcls(raw: readonly RawAcl[]): AclEntry[] {
  return raw.map((a) => ({
    scheme: a.id.scheme,
    id: a.id.id,
    perms: (Object.keys(PERM_BITS) as Perm[]).filter((p) => p !== 'all' && (a.permission & PERM_BITS[p]) !== 0),
  }));
}
