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
  /** Never set on a decision: it tells a decision from an AdmitHold with one property read. */
  holdUntil?: undefined;
}

/**
 * Returned by `admit` to hold a call instead of deciding now (e.g. at the member about to become
 * primary): the call keeps its slots and its deadline, and `admit` is asked again — with `held:
 * true`, right before the handler would run — once `holdUntil` settles. A call is held at most
 * once: a second hold refuses it (UNAVAILABLE, not executed). Cancel, deadline, disconnect and
 * server close end a held call as not executed.
 */
export interface AdmitHold {
  readonly holdUntil: PromiseLike<unknown>;
}

/** What `admit` learns of a call. `held`: it was held once already, so decide now. */
export interface AdmitCall {
  readonly method: string;
  readonly meta: Record<string, unknown>;
  readonly peer: PeerInfo;
  readonly held: boolean;
}

export type AdmitHook = (call: AdmitCall) => RpcError | AdmitDecision | AdmitHold;
