import type { RpcError } from '../transport';

/**
 * The narrow face of the endpoint pool that the call policies use (primary-policy.ts,
 * balanced-policy.ts, hedged-policy.ts): pick or look up a member, run one attempt on it, hear
 * about changes. The pool owns the attempt and all of its bookkeeping (outstanding count,
 * latency, passive health, fault reports); a policy only decides where to send, whether to try
 * again, and what the caller is told. Unit tests drive the policies with a fake pool.
 */
export interface CallTarget {
  /** Member node name: the pool's key. */
  readonly name: string;
  /** Member id, reported to callers as the member that answered. */
  readonly id: string;
  /** Connected now. */
  readonly up: boolean;
  /** Set when the member refused this client for good (a wrong token, an incompatible protocol). */
  readonly refused: RpcError | undefined;
}

/** One answered attempt; the policy fills in `attempts` (no second object per call). */
export interface AttemptResult<R> {
  result: R;
  /** The primary's epoch (fencing token), primary/backup only. */
  epoch: number | undefined;
  member: string;
  attempts: number;
}

export interface AttemptOptions {
  /** An idempotent attempt to a member that leaves the group is cancelled there and may go elsewhere. */
  readonly idempotent?: boolean;
  readonly meta?: Record<string, unknown>;
}

export interface CallPool<T extends CallTarget = CallTarget> {
  readonly size: number;
  get(name: string): T | undefined;
  byUrl(url: string): T | undefined;
  /** The balancer's choice among serving members (redundant mode). Allocation-free. */
  /** The balancer's choice (a due probe first), never a member in `avoid`'s probe slot. */
  pick(key: string | undefined, avoid?: ReadonlySet<string>): T | undefined;
  /** The refusal every member gave, when all of them refused this client for good. */
  refusedEverywhere(): RpcError | undefined;
  /**
   * One attempt on one member, its bookkeeping included. Rejects with an RpcError whose
   * `notExecuted` says whether this attempt can have run. `deadline` is on the monotonic clock.
   */
  attempt<R>(target: T, method: string, params: unknown, opts: AttemptOptions, signal: AbortSignal | undefined, deadline: number): Promise<AttemptResult<R>>;
  /** Called on any change that may let a waiting call proceed (membership, connection, health). */
  onChange(listener: () => void): () => void;
}
