import type { RpcError } from './rpc-error';
import type { CallContext, PeerInfo } from './server-call';

/**
 * A handler. Declared as a method signature so that a handler with typed params is accepted
 * where a `Handler` (params: unknown) is expected.
 */
export type Handler<P = unknown, R = unknown> = {
  bivarianceHack(params: P, ctx: CallContext): R | Promise<R>;
}['bivarianceHack'];

/** Returned by `admit` to let a call run; `epoch` is stamped on the response and on ctx. */
export interface AdmitDecision {
  epoch?: number;
}

export type AdmitHook = (call: { method: string; meta: Record<string, unknown>; peer: PeerInfo }) => RpcError | AdmitDecision;

