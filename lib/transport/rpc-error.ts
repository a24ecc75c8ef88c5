import { ZkHaError } from '../base/errors';

export type RpcErrorCode =
  | 'UNAVAILABLE'
  | 'NOT_PRIMARY'
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED'
  | 'METHOD_NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'OVERLOADED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAUTHENTICATED'
  | 'INTERNAL'
  | 'FENCED'
  | 'PROTOCOL_ERROR';

export const RPC_ERROR_CODES: readonly RpcErrorCode[] = [
  'UNAVAILABLE', 'NOT_PRIMARY', 'DEADLINE_EXCEEDED', 'CANCELLED', 'METHOD_NOT_FOUND', 'INVALID_ARGUMENT',
  'OVERLOADED', 'PAYLOAD_TOO_LARGE', 'UNAUTHENTICATED', 'INTERNAL', 'FENCED', 'PROTOCOL_ERROR',
];

const CODE_SET: ReadonlySet<string> = new Set(RPC_ERROR_CODES);

export function isRpcErrorCode(value: unknown): value is RpcErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

/** Codes whose failure says "try again (elsewhere)" unless the sender says otherwise. */
const RETRYABLE_BY_DEFAULT: ReadonlySet<RpcErrorCode> = new Set<RpcErrorCode>(['UNAVAILABLE', 'NOT_PRIMARY', 'OVERLOADED']);
/** Codes that by their nature are raised before any handler runs. */
const NOT_EXECUTED_BY_DEFAULT: ReadonlySet<RpcErrorCode> = new Set<RpcErrorCode>([
  'NOT_PRIMARY', 'OVERLOADED', 'UNAUTHENTICATED', 'METHOD_NOT_FOUND', 'PROTOCOL_ERROR',
]);

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
    const retryable = opts.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    const notExecuted = opts.notExecuted ?? NOT_EXECUTED_BY_DEFAULT.has(code);
    const details: Record<string, unknown> = { retryable, notExecuted };
    if (opts.leaderHint !== undefined) details.leaderHint = opts.leaderHint;
    super(code, message, details, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryable = retryable;
    this.notExecuted = notExecuted;
    if (opts.leaderHint !== undefined) this.leaderHint = opts.leaderHint;
    if (opts.data !== undefined) this.data = opts.data;
  }
}
