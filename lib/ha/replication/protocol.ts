/**
 * The replication messages, carried as ordinary calls of the ws transport under reserved method
 * names (so they pass the same authentication as any call). A user handler may not use the
 * `$repl.` prefix.
 */
export const REPL_PREFIX = '$repl.';
export const METHOD_STATUS = '$repl.status';
export const METHOD_APPEND = '$repl.append';
export const METHOD_SNAPSHOT = '$repl.snapshot';
/**
 * The only replication call that needs no secret: the primary asks a member to prove it knows the
 * secret before sending it anything that carries the secret (see sender-check.ts, memberProof).
 */
export const METHOD_HELLO = '$repl.hello';

export interface HelloParams {
  /** Random, fresh per connection. */
  readonly nonce: string;
}

export interface HelloResult {
  /** HMAC of the nonce and the member's own URL under the secret. */
  readonly proof: Uint8Array;
}

/** [index, epoch, op, reign]: tuples, not objects, to keep frames small. */
export type WireEntry = [number, number, unknown, number];

export interface StatusResult {
  readonly key: string;
  /** Highest epoch this replica has verified. */
  readonly epoch: number;
  /** The generation that epoch counts in ("" before any). */
  readonly generation: string;
  readonly lastIndex: number;
  readonly appliedIndex: number;
  /** Reigns of the entries at lastIndex and appliedIndex (absent when not held): see LogEntry. */
  readonly lastReign?: number;
  readonly appliedReign?: number;
}

export interface AppendParams {
  readonly epoch: number;
  /** The generation of the service the epoch counts in (absent = ""). */
  readonly generation?: string;
  readonly entries: readonly WireEntry[];
  /** The entry the batch follows, and its reign: the backup must hold that very entry. */
  readonly prevIndex: number;
  readonly prevReign: number;
  /** The primary's commit index: the backup applies up to it. */
  readonly commit: number;
}

export interface AppendResult {
  readonly key: string;
  /** The backup's last index after the append. */
  readonly match: number;
  /** True when the entries did not follow the backup's log: resend from match + 1. */
  readonly gap?: boolean;
  /**
   * True when the backup applied an entry the primary's log does not have (it followed another
   * primary's history: an in-sync set forced by an operator, ZooKeeper's data lost): only a
   * snapshot brings it back.
   */
  readonly diverged?: boolean;
}

export interface SnapshotParams {
  readonly epoch: number;
  readonly generation?: string;
  /** Identifies one transfer; a chunk of another transfer restarts the assembly. */
  readonly id: string;
  /** Log index the snapshot was taken at, and the reign of the entry there. */
  readonly index: number;
  readonly reign: number;
  readonly total: number;
  readonly offset: number;
  readonly chunk: Uint8Array;
}

export interface SnapshotResult {
  readonly key: string;
  /** Bytes received so far of this transfer (the next offset to send). */
  readonly received: number;
  /** Set once the snapshot is restored: the backup's last index. */
  readonly match?: number;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
