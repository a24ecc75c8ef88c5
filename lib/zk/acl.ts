import { createHash } from 'crypto';
import { ACL, Id, Permission } from 'node-zookeeper-client';
import { InvalidOptionError } from '../base/errors';
import { describe, knownKeys } from '../base/options';

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

/**
 * Validates an ACL option (a non-empty array of entries) when given: a malformed one would
 * otherwise surface as a TypeError from the first node created with it.
 */
export function aclOption(name: string, value: readonly AclEntry[] | undefined): readonly AclEntry[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidOptionError(name, `must be a non-empty array of { scheme, id, perms } entries (see acl.open(), acl.digest()), got ${describe(value)}`);
  }
  value.forEach((e: unknown, i) => {
    const entry = e as Partial<Record<keyof AclEntry, unknown>> | null;
    const perms = entry?.perms;
    if (typeof entry !== 'object' || entry === null || typeof entry.scheme !== 'string' || entry.scheme === '' || typeof entry.id !== 'string'
      || !Array.isArray(perms) || perms.length === 0 || !(perms as unknown[]).every((p) => typeof p === 'string' && Object.hasOwn(PERM_BITS, p))) {
      throw new InvalidOptionError(`${name}[${i}]`, `must be { scheme: non-empty string, id: string, perms: non-empty array of ${Object.keys(PERM_BITS).map((p) => `"${p}"`).join(', ')} }, got ${describe(e)}`);
    }
    knownKeys(`${name}[${i}]`, entry, ['scheme', 'id', 'perms']);
  });
  return value;
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
