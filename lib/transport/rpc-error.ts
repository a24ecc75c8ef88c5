import { ZkHaError } from '../base/errors';
import { ERROR_CODE_TABLE, ERROR_CODES, isErrorCode } from '../base/error-codes';
import type { ErrorCode } from '../base/error-codes';

/** The call error codes; their defaults and classes live in one table (base/error-codes.ts). */
export type RpcErrorCode = ErrorCode;

export const RPC_ERROR_CODES: readonly RpcErrorCode[] = ERROR_CODES;

export const isRpcErrorCode: (value: unknown) => value is RpcErrorCode = isErrorCode;

export interface RpcErrorOptions {
  retryable?: boolean;
  notExecuted?: boolean;
  leaderHint?: string;
  data?: unknown;
  cause?: unknown;
}

/**
 * The error of every failed call. `notExecuted` is the retry-safety bit: true only when it is
 * KNOWN that no handler ran, so the call may go to another member even if it is not idempotent.
 */
export class RpcError extends ZkHaError<RpcErrorCode> {
  readonly retryable: boolean;
  readonly notExecuted: boolean;
  readonly leaderHint?: string;
  readonly data?: unknown;

  constructor(code: RpcErrorCode, message: string, opts: RpcErrorOptions = {}) {
    // Defaults from the code table; an unknown code (a caller's cast) is neither.
    const traits = ERROR_CODE_TABLE[code] as (typeof ERROR_CODE_TABLE)[RpcErrorCode] | undefined;
    const retryable = opts.retryable ?? traits?.retryable ?? false;
    const notExecuted = opts.notExecuted ?? traits?.notExecuted ?? false;
    const details: Record<string, unknown> = { retryable, notExecuted };
    if (opts.leaderHint !== undefined) details.leaderHint = opts.leaderHint;
    super(code, message, details, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryable = retryable;
    this.notExecuted = notExecuted;
    if (opts.leaderHint !== undefined) this.leaderHint = opts.leaderHint;
    if (opts.data !== undefined) this.data = opts.data;
  }
}
