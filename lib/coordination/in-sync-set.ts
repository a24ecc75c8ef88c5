import { ZkHaError } from '../base/errors';
import { ZkError, ZkSession } from '../zk';
import type { AclEntry, WatchFn } from '../zk';
import type { ServicePaths } from './paths';

/**
 * The in-sync set of a replicated service (DESIGN.md, "Replicated state"), stored as JSON at
 * `/<root>/<service>/isr`. `members` are replica keys `<member id>@<incarnation>`: a process that
 * restarts has a new incarnation (its in-memory state is gone) and so is not in sync any more
 * even if it keeps its id. `<id>@*` (written only by the operator override) means "whichever
 * incarnation of this id runs now".
 */
export interface IsrRecord {
  /** Epoch of the primary that wrote the record last. */
  readonly epoch: number;
  readonly members: readonly string[];
  /** Highest log index known committed when the record was written (informational, for operators). */
  readonly committedIndex: number;
  /** Set by the operator override: the record was forced, an acknowledged write may be missing. */
  readonly forced?: boolean;
  /**
   * The generation `epoch` counts in (MembershipSnapshot.generation). Epochs of another generation
   * do not compare: sequences restart when members/ is created again. Absent in records written
   * before it existed (then epochs compare as they are).
   */
  readonly generation?: string;
}

export interface VersionedIsr {
  readonly record: IsrRecord;
  /** The znode's data version: every write is conditioned on it. */
  readonly version: number;
}

export type IsrErrorCode = 'ISR_BAD_RECORD' | 'ISR_CONFLICT' | 'ISR_NOT_PRIMARY' | 'ISR_ABSENT' | 'ISR_NOT_A_MEMBER' | 'ISR_PRIMARY_SERVES';

/**
 * ISR_CONFLICT: someone else wrote the set since we read it; ISR_NOT_PRIMARY: our lease did not
 * hold. The operator override (isr-override.ts) refuses with ISR_ABSENT (no set: nothing waits on
 * one), ISR_NOT_A_MEMBER (no registered member has that id) and ISR_PRIMARY_SERVES (a primary
 * serves: the service is not waiting).
 */
export class IsrError extends ZkHaError<IsrErrorCode> {}

const MAX_RECORD_BYTES = 64 * 1024;
export const ANY_INCARNATION = '*';

export function isrPath(paths: ServicePaths): string {
  return `${paths.servicePath}/isr`;
}

export function replicaKey(id: string, incarnation: string): string {
  return `${id}@${incarnation}`;
}

/** The member id part of a replica key. */
export function replicaId(key: string): string {
  const at = key.lastIndexOf('@');
  return at === -1 ? key : key.slice(0, at);
}

/** Whether `key` is named by the set (exactly, or by the operator's `<id>@*`). */
export function isrHas(record: IsrRecord, key: string): boolean {
  const wildcard = replicaKey(replicaId(key), ANY_INCARNATION);
  return record.members.includes(key) || record.members.includes(wildcard);
}

/**
 * Election eligibility (only in-sync members may become primary). No record yet = the service has
 * never replicated anything, so every member is eligible and the first primary creates the set.
 */
export function isEligible(record: IsrRecord | undefined, key: string): boolean {
  return record === undefined || isrHas(record, key);
}

export function withMember(record: IsrRecord, key: string, epoch: number, committedIndex: number): IsrRecord {
  const members = record.members.filter((m) => replicaId(m) !== replicaId(key));
  members.push(key);
  return { epoch, members: members.sort(), committedIndex: Math.max(record.committedIndex, committedIndex), ...generationField(record) };
}

export function withoutMembers(record: IsrRecord, keys: readonly string[], epoch: number, committedIndex: number): IsrRecord {
  return { epoch, members: record.members.filter((m) => !keys.includes(m)), committedIndex: Math.max(record.committedIndex, committedIndex), ...generationField(record) };
}

function generationField(record: IsrRecord): { generation?: string } {
  return record.generation === undefined ? {} : { generation: record.generation };
}

/**
 * Whether the record's epoch is above `epoch` in the same generation: a newer primary wrote it. A
 * record of another generation says nothing about epochs of ours.
 */
export function isrNewerThan(record: IsrRecord, epoch: number, generation: string): boolean {
  return (record.generation === undefined || record.generation === generation) && record.epoch > epoch;
}

export function encodeIsr(record: IsrRecord): Buffer {
  validateIsr(record, 'isr');
  return Buffer.from(JSON.stringify(record));
}

export function decodeIsr(data: Buffer, path: string): IsrRecord {
  if (data.length > MAX_RECORD_BYTES) throw new IsrError('ISR_BAD_RECORD', `${path}: ${data.length} bytes exceeds ${MAX_RECORD_BYTES}`, { path });
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new IsrError('ISR_BAD_RECORD', `${path}: not JSON (${(error as Error).message})`, { path });
  }
  validateIsr(parsed, path);
  return parsed;
}

function validateIsr(value: unknown, where: string): asserts value is IsrRecord {
  const fail = (why: string): never => {
    throw new IsrError('ISR_BAD_RECORD', `${where}: ${why}`, { path: where });
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('not a JSON object');
  const r = value as Record<string, unknown>;
  if (typeof r.epoch !== 'number' || !Number.isSafeInteger(r.epoch) || r.epoch < 0) fail('"epoch" must be an integer >= 0');
  if (!Array.isArray(r.members) || r.members.length > 1024 || r.members.some((m) => typeof m !== 'string' || m.length === 0 || m.length > 512)) {
    fail('"members" must be an array of at most 1024 non-empty strings');
  }
  if (typeof r.committedIndex !== 'number' || !Number.isSafeInteger(r.committedIndex) || r.committedIndex < 0) fail('"committedIndex" must be an integer >= 0');
  if (r.forced !== undefined && typeof r.forced !== 'boolean') fail('"forced" must be a boolean');
  if (r.generation !== undefined && (typeof r.generation !== 'string' || r.generation.length > 128)) fail('"generation" must be a string of at most 128 characters');
}

export interface InSyncSetOptions {
  readonly acl?: readonly AclEntry[];
  /**
   * Asked right before every write: the primary's lease check. The set is changed only by the
   * primary while its lease holds; the version condition closes the rest of the gap (a write
   * from a primary paused after this check fails if anyone wrote in between).
   */
  readonly mayWrite: () => boolean;
}

export type IsrInspection =
  | { readonly state: 'ok'; readonly isr: VersionedIsr }
  | { readonly state: 'bad'; readonly version: number; readonly error: IsrError }
  | { readonly state: 'missing' };

/** Reads and conditionally writes the in-sync set znode. */
export class InSyncSet {
  readonly path: string;

  constructor(private readonly session: ZkSession, paths: ServicePaths, private readonly options: InSyncSetOptions) {
    this.path = isrPath(paths);
  }

  /** The set and its version, or undefined when the service has none yet. */
  async read(): Promise<VersionedIsr | undefined> {
    try {
      const { data, stat } = await this.session.get(this.path);
      return { record: decodeIsr(data, this.path), version: stat.version };
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return undefined;
      throw error;
    }
  }

  /**
   * read(), retried through connection losses (until the session is lost): after a write whose
   * answer was lost, only a read tells whether it landed.
   */
  readThrough(): Promise<VersionedIsr | undefined> {
    return this.session.retry(() => this.read());
  }

  /**
   * The node as it is, with a data watch when it exists: `bad` carries the version of a node whose
   * data does not validate, so that the primary can write over exactly that.
   */
  async inspect(watch?: WatchFn): Promise<IsrInspection> {
    try {
      const { data, stat } = await this.session.get(this.path, { watch });
      try {
        return { state: 'ok', isr: { record: decodeIsr(data, this.path), version: stat.version } };
      } catch (error) {
        return { state: 'bad', version: stat.version, error: error as IsrError };
      }
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return { state: 'missing' };
      throw error;
    }
  }

  /**
   * The primary writes its own copy back over a deleted (`version` undefined: create) or
   * unparseable node (set on `version`). ISR_CONFLICT when it changed again meanwhile.
   */
  async restore(record: IsrRecord, version: number | undefined): Promise<VersionedIsr> {
    return this.write(record, version === undefined ? undefined : { record, version });
  }

  /**
   * Writes `next` if the set is still at `expected` (undefined = create it). ISR_CONFLICT when it
   * moved (or was created meanwhile); ISR_NOT_PRIMARY when the lease check fails first.
   */
  async write(next: IsrRecord, expected: VersionedIsr | undefined): Promise<VersionedIsr> {
    const data = encodeIsr(next);
    if (!this.options.mayWrite()) throw new IsrError('ISR_NOT_PRIMARY', 'not the primary (lease check failed): the in-sync set is left alone');
    try {
      if (expected === undefined) {
        await this.session.create(this.path, data, { mode: 'persistent', acl: this.options.acl });
        return { record: next, version: 0 };
      }
      const stat = await this.session.set(this.path, data, expected.version);
      return { record: next, version: stat.version };
    } catch (error) {
      if (error instanceof ZkError && (error.code === 'BAD_VERSION' || error.code === 'NODE_EXISTS' || error.code === 'NO_NODE')) {
        throw new IsrError('ISR_CONFLICT', `the in-sync set changed under us (${error.code})`, { path: this.path });
      }
      throw error;
    }
  }
}
