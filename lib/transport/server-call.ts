import { monotonicMs, wallClockMs } from '../base/clock';
import type { RpcError } from './rpc-error';

export interface PeerInfo {
  address: string;
  port: number;
  identity?: unknown;
}

/** What a handler learns about its call. */
export interface CallContext<M = Record<string, unknown>> {
  /** Aborted on cancel, deadline or disconnect; its `reason` is an RpcError saying which. */
  readonly signal: AbortSignal;
  /** Absolute deadline, wall-clock epoch ms (derived from the remaining time, for passing on). */
  readonly deadline: number;
  /** Milliseconds left before the deadline, on the monotonic clock. */
  remainingMs(): number;
  /** The epoch stamped by the server's `admit` hook, if any. */
  readonly epoch: number | undefined;
  readonly peer: PeerInfo;
  readonly meta: M;
  readonly method: string;
  readonly callId: number;
}

const EMPTY_META: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * One call being served; it is the handler's CallContext. The AbortController is created only
 * if the handler reads `signal` (most do not), to keep the per-call cost low.
 */
export class ServerCall implements CallContext {
  /** Set once the call's outcome is decided (answered, expired, cancelled or disconnected). */
  done = false;
  /** Waiting for the admit hook's AdmitHold to settle: its handler has not run. */
  held = false;
  /** It was held once: the admit hook must decide now. */
  wasHeld = false;
  readonly meta: Record<string, unknown>;
  private controller: AbortController | undefined;
  private abortReason: RpcError | undefined;

  constructor(
    readonly callId: number,
    readonly method: string,
    /** Monotonic ms (lib/base/clock). */
    readonly deadlineAt: number,
    meta: Record<string, unknown> | undefined,
    /** Set by the admit hook just before the handler runs. */
    public epoch: number | undefined,
    readonly peer: PeerInfo,
  ) {
    this.meta = meta ?? EMPTY_META;
  }

  get deadline(): number {
    return wallClockMs() + this.remainingMs();
  }

  remainingMs(): number {
    return this.deadlineAt - monotonicMs();
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  abort(reason: RpcError): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}
