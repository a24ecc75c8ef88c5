import { createHmac } from 'crypto';
import { secretsEqual } from '../../base/secure-compare';
import { RpcError } from '../../transport';
import { isIndex, isObject } from './protocol';

/** The call meta key carrying the replication secret. */
export const SECRET_META = 'replSecret';

/** An epoch as a replication call states it: the sender's member sequence within a generation of the service. */
export interface EpochClaim {
  readonly epoch: number;
  /** The generation (the members node's czxid and ctime) the epoch counts in; "" = unknown. */
  readonly generation: string;
}

/**
 * What this member's own ZooKeeper view says: the acknowledged primary's epoch (undefined when no
 * other member is the acknowledged primary) and the service's generation.
 */
export interface ViewedPrimary {
  readonly epoch: number | undefined;
  readonly generation: string;
}

/**
 * - verified: the claim is the epoch of the primary this member's own view acknowledges;
 * - stale: older than an epoch this member has verified (or its view shows), so its sender is not the primary;
 * - unverified: anything else — a newer epoch the view has not caught up with yet, another
 *   generation, no acknowledged primary: refused for now, retried by a real primary.
 */
export type ClaimVerdict = 'verified' | 'stale' | 'unverified';

/**
 * The one rule (issue 14, "fencing that cannot be poisoned", applied to replication): an epoch is
 * raised only from a claim that equals what this member's own ZooKeeper view shows. A number that
 * merely arrives in a message can refuse it, never move it.
 */
export function judgeClaim(claim: EpochClaim, view: ViewedPrimary, seen: EpochClaim): ClaimVerdict {
  if (claim.generation === seen.generation && claim.epoch < seen.epoch) return 'stale';
  if (view.generation === '' || claim.generation !== view.generation || view.epoch === undefined) return 'unverified';
  if (claim.epoch === view.epoch) return 'verified';
  return claim.epoch < view.epoch ? 'stale' : 'unverified';
}

/** Whether `claim` would be a later primary than `own` (another generation cannot be ordered: maybe). */
export function mayBeNewer(claim: EpochClaim, own: EpochClaim): boolean {
  return claim.generation !== own.generation || claim.epoch > own.epoch;
}

/** The epoch claim of `$repl.append` / `$repl.snapshot` params; undefined when malformed. */
export function claimOf(params: unknown): EpochClaim | undefined {
  if (!isObject(params) || !isIndex(params.epoch)) return undefined;
  const generation = params.generation ?? '';
  return typeof generation === 'string' && generation.length <= 64 ? { epoch: params.epoch, generation } : undefined;
}

/** Whether the call meta carries the replication secret (constant time). */
export function senderAuthentic(meta: Readonly<Record<string, unknown>>, secret: Uint8Array): boolean {
  return secretsEqual(meta[SECRET_META], secret);
}

/**
 * A member's answer to the primary's challenge: proves it holds the secret without revealing it,
 * bound to the URL it is reached at, so that a process registered under another URL (a fake member
 * record) cannot relay the challenge to a real member and pass the answer off as its own. Only then
 * does the primary send calls that carry the secret.
 */
export function memberProof(secret: Uint8Array, nonce: string, url: string): Buffer {
  return createHmac('sha256', secret).update(`zk-ha/replication-member-proof\n${nonce}\n${url}`).digest();
}

/** Checks a member's proof (constant time). */
export function proofValid(given: unknown, secret: Uint8Array, nonce: string, url: string): boolean {
  return secretsEqual(given, memberProof(secret, nonce, url));
}

const UNVERIFIED_MARK = 'repl-epoch-unverified';

/** The refusal of a claim this member cannot verify yet: retryable, nothing applied, no epoch raised. */
export function unverifiedError(claim: EpochClaim): RpcError {
  return new RpcError('UNAVAILABLE', `epoch ${claim.epoch} (generation ${claim.generation || '?'}) is not the acknowledged primary's in this member's view (yet)`, {
    retryable: true, notExecuted: true, data: UNVERIFIED_MARK,
  });
}

/** A refusal the primary's replicator retries quickly: the backup's view is a notification behind. */
export function isUnverified(error: unknown): boolean {
  return error instanceof RpcError && error.code === 'UNAVAILABLE' && error.data === UNVERIFIED_MARK;
}

/**
 * The `replication.secret` option as bytes, or why it is not acceptable. Required with `state`:
 * there is no safe default (see docs/replication.md, "Who may send replication calls").
 */
export function replicationSecret(value: unknown): Uint8Array | string {
  if (value === undefined) return 'is required with `state`: a shared secret of at least 16 bytes that only the members know (docs/replication.md)';
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value instanceof Uint8Array ? Buffer.from(value) : undefined;
  if (bytes === undefined) return 'must be a string or a Buffer';
  return bytes.length >= 16 ? new Uint8Array(bytes) : `must be at least 16 bytes (got ${bytes.length})`;
}
