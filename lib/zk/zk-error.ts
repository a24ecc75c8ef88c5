import { ZkHaError } from '../base/errors';

export type ZkErrorCode =
  | 'NO_NODE' | 'NODE_EXISTS' | 'BAD_VERSION' | 'NOT_EMPTY' | 'NO_AUTH' | 'INVALID_ACL' | 'AUTH_FAILED'
  | 'NO_CHILDREN_FOR_EPHEMERALS' | 'BAD_ARGUMENTS' | 'CONNECTION_LOSS' | 'SESSION_EXPIRED' | 'TIMEOUT' | 'CLOSED'
  | 'SYSTEM_ERROR' | 'RUNTIME_INCONSISTENCY' | 'DATA_INCONSISTENCY' | 'MARSHALLING_ERROR' | 'UNIMPLEMENTED'
  | 'OPERATION_TIMEOUT' | 'API_ERROR' | 'QUOTA_EXCEEDED' | 'UNKNOWN_SERVER_ERROR';

/** ZooKeeper's numeric codes (KeeperException.Code) for the ones with a stable name here. */
const SERVER_CODES: ReadonlyMap<number, ZkErrorCode> = new Map<number, ZkErrorCode>([
  [-1, 'SYSTEM_ERROR'], [-2, 'RUNTIME_INCONSISTENCY'], [-3, 'DATA_INCONSISTENCY'], [-4, 'CONNECTION_LOSS'],
  [-5, 'MARSHALLING_ERROR'], [-6, 'UNIMPLEMENTED'], [-7, 'OPERATION_TIMEOUT'], [-8, 'BAD_ARGUMENTS'],
  [-100, 'API_ERROR'], [-101, 'NO_NODE'], [-102, 'NO_AUTH'], [-103, 'BAD_VERSION'],
  [-108, 'NO_CHILDREN_FOR_EPHEMERALS'], [-110, 'NODE_EXISTS'], [-111, 'NOT_EMPTY'], [-112, 'SESSION_EXPIRED'],
  [-114, 'INVALID_ACL'], [-115, 'AUTH_FAILED'], [-125, 'QUOTA_EXCEEDED'],
]);

/**
 * A ZooKeeper operation failed. `serverCode` is ZooKeeper's own number when the server answered;
 * `sent` is false when the request provably never left this process (safe to issue again).
 */
export class ZkError extends ZkHaError<ZkErrorCode> {
  readonly path: string | undefined;
  readonly serverCode: number | undefined;
  readonly sent: boolean;

  constructor(code: ZkErrorCode, message: string, opts: { path?: string; serverCode?: number; sent?: boolean; cause?: unknown } = {}) {
    super(code, message, { path: opts.path, serverCode: opts.serverCode }, { cause: opts.cause });
    this.path = opts.path;
    this.serverCode = opts.serverCode;
    this.sent = opts.sent ?? true;
  }

  /** Connection-level failures after which the same session may still succeed on a retry. */
  get retryable(): boolean {
    return this.code === 'CONNECTION_LOSS' || this.code === 'TIMEOUT' || this.code === 'OPERATION_TIMEOUT';
  }

  static fromServerCode(serverCode: number, op: string, path?: string): ZkError {
    const code = SERVER_CODES.get(serverCode) ?? 'UNKNOWN_SERVER_ERROR';
    const where = path ? ` ${path}` : '';
    return new ZkError(code, `${op}${where}: ${code} (ZooKeeper code ${serverCode})`, { path, serverCode });
  }
}

/** Codes produced by the client itself, not by a server: they prove nothing about the session's liveness. */
const LOCAL_CODES = new Set<number>([-4, -112, -115]);

/** The numeric code of what node-zookeeper-client handed to a callback, if it has one. */
function clientErrorCode(error: unknown): number | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof (error as { code: unknown }).code === 'number') {
    return (error as { code: number }).code;
  }
  return undefined;
}

/** True when a server produced this callback outcome (a result, or a server's error code). */
export function isServerAnswer(error: unknown): boolean {
  const code = clientErrorCode(error);
  return code === undefined || !LOCAL_CODES.has(code);
}

/** Converts whatever node-zookeeper-client handed to a callback into a ZkError. */
export function toZkError(error: unknown, op: string, path?: string): ZkError {
  if (error instanceof ZkError) return error;
  const code = clientErrorCode(error);
  if (code !== undefined) return ZkError.fromServerCode(code, op, path);
  const message = error instanceof Error ? error.message : String(error);
  // node-zookeeper-client validates arguments with assert() and throws synchronously.
  return new ZkError('BAD_ARGUMENTS', `${op}${path ? ` ${path}` : ''}: ${message}`, { path, sent: false, cause: error });
}
