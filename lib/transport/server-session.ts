import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { monotonicMs } from '../base/clock';
import { describeUntrusted } from '../base/untrusted';
import { encodeError, encodeResponse, ErrorFields, Frame, FrameError, FrameType, RequestFrame } from './codec';
import { ConnectionCore, CoreOwner } from './connection-core';
import type { InFlightBudget } from './in-flight-budget';
import type { ServerLimits } from './server-options';
import { RpcError, RpcErrorCode } from './rpc-error';
import { PeerInfo, ServerCall } from './server-call';
import type { TransportFault } from './transport-fault';
import type { AdmitCall, AdmitDecision, AdmitHold, AdmitHook, Handler } from './handler';

export type { AdmitCall, AdmitDecision, AdmitHold, AdmitHook, Handler };

/** What every session of a server shares and never changes: its limits, its handlers and its admit hook. */
export interface SessionConfig {
  readonly limits: ServerLimits;
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly admit: AdmitHook | undefined;
}

/** 'fault': something to report (TransportFault); 'close': the connection is gone and its calls were aborted. */
export interface SessionEvents {
  fault: [fault: TransportFault];
  close: [];
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The server side of one ws connection over a ConnectionCore: turns request frames into handler
 * calls and their results into response frames, within the per-connection limits and the
 * server-wide in-flight budget. The whole path of a call is `onRequest` → `run` → `reply`.
 */
export class ServerSession extends EventEmitter<SessionEvents> implements CoreOwner {
  readonly calls = new Map<number, ServerCall>();
  readonly peerName: string;
  readonly core: ConnectionCore;
  private readonly limits: ServerLimits;
  private closedFlag = false;
  readonly closed: Promise<void>;

  constructor(
    private readonly config: SessionConfig,
    private readonly budget: InFlightBudget,
    readonly ws: WebSocket,
    socket: Duplex,
    readonly peer: PeerInfo,
  ) {
    super();
    this.limits = config.limits;
    this.peerName = `${peer.address}:${peer.port}`;
    this.core = new ConnectionCore(ws, socket, this, config.limits, this.peerName, this.report, 'server');
    let markClosed!: () => void;
    this.closed = new Promise<void>((resolve) => (markClosed = resolve));
    ws.on('error', (err: Error & { code?: string }) => {
      const hard = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      this.core.fault({ code: hard ? 'FRAME_OVER_HARD_LIMIT' : 'SOCKET_ERROR', message: err.message, detail: { errorCode: err.code } });
    });
    ws.on('close', () => {
      this.onClose();
      markClosed();
    });
  }

  private readonly report = (f: TransportFault): void => {
    this.emit('fault', f);
  };

  get isPaused(): boolean {
    return this.core.isReadingPaused;
  }

  // CoreOwner

  onFrame(frame: Frame): void {
    switch (frame[0]) {
      case FrameType.REQUEST:
        this.onRequest(frame);
        return;
      case FrameType.CANCEL:
        this.onCancel(frame[1]);
        return;
      default:
        this.core.fault({ code: 'UNEXPECTED_FRAME', message: `frame type ${frame[0]} is not accepted by a server`, detail: { id: frame[1], type: frame[0] } });
    }
  }

  onOversized(bytes: number, header: { type: number; id: number } | undefined): void {
    if (header !== undefined && header.type === FrameType.REQUEST && !this.calls.has(header.id)) {
      this.refuse(header.id, 'PAYLOAD_TOO_LARGE', `request of ${bytes} bytes exceeds the server's maxFrameBytes ${this.limits.maxFrameBytes}`, false);
    }
  }

  onBadFrame(err: FrameError): void {
    // Answer the call when we can tell which one it was, unless that id is a live call (a
    // garbage frame must not decide the outcome of a good one).
    if (err.id !== undefined && err.type === FrameType.REQUEST && !this.calls.has(err.id)) {
      const code = err.reason === 'TOO_COMPLEX' ? 'PAYLOAD_TOO_LARGE' : 'PROTOCOL_ERROR';
      this.refuse(err.id, code, err.message, false);
    }
  }

  /**
   * A peer that does not read cannot grow our memory: stop reading its requests until its
   * backlog drains. What is still in flight is bounded by maxInFlightPerConnection.
   */
  onBackpressure(bufferedBytes: number): void {
    this.core.pauseReading();
    this.core.fault({
      code: 'SLOW_READER',
      message: `peer is not reading (${bufferedBytes} bytes buffered); reading paused`,
      detail: { bufferedAmount: bufferedBytes },
    });
  }

  onWritable(): void {
    this.core.resumeReading();
  }

  onDead(): void {
    // The core reported it and terminates the socket; 'close' cleans up.
  }

  /** A request: refused at once (notExecuted), or its call is registered and run. */
  private onRequest(frame: RequestFrame): void {
    const id = frame[1];
    if (this.calls.has(id)) {
      this.report({ code: 'DUPLICATE_CALL_ID', message: `call id ${id} is already in flight`, peer: this.peerName, detail: { id } });
      return;
    }
    if (this.budget.closing) {
      this.refuse(id, 'UNAVAILABLE', 'server is shutting down', true);
      return;
    }
    const timeoutMs = this.timeoutOf(frame[4]);
    if (timeoutMs === undefined) {
      this.refuse(id, 'INVALID_ARGUMENT', `timeout ${describeUntrusted(frame[4])} is not a finite number of milliseconds >= 0`, false);
      return;
    }
    if (timeoutMs === 0) {
      this.refuse(id, 'DEADLINE_EXCEEDED', 'deadline passed before the call started', false);
      return;
    }
    const method = frame[2];
    const handler = this.config.handlers.get(method);
    if (handler === undefined) {
      this.refuse(id, 'METHOD_NOT_FOUND', `no method ${describeUntrusted(method)}`, false);
      return;
    }
    if (this.calls.size >= this.limits.maxInFlightPerConnection) {
      this.refuseOverloaded(id, `connection has ${this.calls.size} calls in flight (maxInFlightPerConnection)`);
      return;
    }
    const deadline = monotonicMs() + timeoutMs;
    if (!this.budget.acquire(deadline)) {
      this.refuseOverloaded(id, 'server is at maxInFlight');
      return;
    }
    const meta = frame[5];
    const call = new ServerCall(id, method, deadline, meta, undefined, this.peer);
    this.calls.set(id, call);
    // The admit hook (a primary's lease guard) runs LAST, right before the handler: a process can be
    // frozen between any check and the act after it, so nothing else may sit in between.
    if (this.config.admit !== undefined && !this.admit(this.config.admit, call, meta ?? {}, handler, frame[3])) return;
    this.run(call, handler, frame[3]);
  }

  /**
   * Asks the admit hook. True: run the handler now. False: the call was refused (dropped, its slot
   * given back, answered), or it is held and the hook is asked again when the hold settles.
   */
  private admit(admit: AdmitHook, call: ServerCall, meta: Record<string, unknown>, handler: Handler, params: unknown): boolean {
    let decision: RpcError | AdmitDecision | AdmitHold;
    try {
      decision = admit({ method: call.method, meta, peer: this.peer, held: call.wasHeld });
    } catch (err) {
      this.admitFailed(call, err);
      return false;
    }
    if (decision instanceof RpcError) {
      this.finish(call);
      this.sendError(call.callId, decision);
      return false;
    }
    // One property read tells a hold from a decision (decisions are shared frozen objects).
    const until = (decision as AdmitDecision | AdmitHold | undefined)?.holdUntil;
    if (until !== undefined) {
      this.hold(call, until, () => {
        if (this.admit(admit, call, meta, handler, params)) this.run(call, handler, params);
      });
      return false;
    }
    call.epoch = (decision as AdmitDecision | undefined)?.epoch;
    return true;
  }

  /**
   * Holds a call (it keeps its slots; its deadline, a cancel, a disconnect or the server's close
   * end it as not executed) until `until` settles, then asks the hook again — the lease check stays
   * the last step before the handler, never decided by the wait. A second hold refuses the call, so
   * nothing can spin.
   */
  private hold(call: ServerCall, until: PromiseLike<unknown>, readmit: () => void): void {
    if (call.wasHeld) {
      this.finish(call);
      this.report({ code: 'ADMIT_ERROR', message: 'admit hook held a call a second time: refused', peer: this.peerName, detail: { id: call.callId, method: call.method } });
      this.refuse(call.callId, 'UNAVAILABLE', 'call could not be admitted', true);
      return;
    }
    call.held = true;
    call.wasHeld = true;
    const settled = (): void => {
      // Ended while held, or a thenable calling back twice.
      if (call.done || !call.held) return;
      call.held = false;
      readmit();
    };
    try {
      until.then(settled, settled);
    } catch (err) {
      call.held = false;
      this.admitFailed(call, err);
    }
  }

  private admitFailed(call: ServerCall, err: unknown): void {
    this.finish(call);
    this.report({ code: 'ADMIT_ERROR', message: `admit hook threw: ${String((err as Error)?.message ?? err)}`, peer: this.peerName });
    this.refuse(call.callId, 'INTERNAL', 'admission check failed', false);
  }

  private run(call: ServerCall, handler: Handler, params: unknown): void {
    let result: unknown;
    try {
      result = handler(params, call);
    } catch (err) {
      this.fail(call, err);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.reply(call, value),
        (err: unknown) => this.fail(call, err),
      );
    } else {
      this.reply(call, result);
    }
  }

  /**
   * The call's time on this server: what the caller has left, capped by maxDeadlineMs so that no
   * call holds a slot for ever; nil means the server's default. Undefined when invalid.
   */
  private timeoutOf(t: unknown): number | undefined {
    if (t === undefined || t === null) return this.limits.defaultDeadlineMs;
    if (typeof t !== 'number' || !(t >= 0) || t === Infinity) return undefined;
    return t < this.limits.maxDeadlineMs ? t : this.limits.maxDeadlineMs;
  }

  /** Answers a call that never ran. */
  private refuse(id: number, code: RpcErrorCode, message: string, retryable: boolean): void {
    this.sendError(id, { code, message, retryable, notExecuted: true });
  }

  private refuseOverloaded(id: number, why: string): void {
    this.report({ code: 'OVERLOADED', message: why, peer: this.peerName, detail: { id } });
    this.refuse(id, 'OVERLOADED', why, true);
  }

  private onCancel(id: number): void {
    const call = this.calls.get(id);
    // A cancel for a finished call is a normal race, not a fault.
    if (call === undefined) return;
    call.abort(new RpcError('CANCELLED', 'call cancelled by the client', { notExecuted: call.held }));
    this.finish(call);
  }

  /** Marks a call done and frees its slots; false if it was already done. */
  private finish(call: ServerCall): boolean {
    if (call.done) return false;
    call.done = true;
    this.calls.delete(call.callId);
    this.budget.release();
    return true;
  }

  /** A handler's result: encoded and sent, unless the call was decided meanwhile. */
  private reply(call: ServerCall, value: unknown): void {
    if (!this.finish(call)) return;
    // A connection being closed (a slow consumer cut off, say) gets no more answers: do not
    // even encode them, or a thousand handlers finishing at once cost a second of copying.
    if (!this.core.isOpen) return;
    let frame: Buffer;
    try {
      frame = encodeResponse(call.callId, value, call.epoch);
    } catch (err) {
      this.report({
        code: 'NOT_ENCODABLE',
        message: `result of ${call.method} cannot be encoded: ${String((err as Error)?.message ?? err)}`,
        peer: this.peerName,
      });
      this.sendError(call.callId, { code: 'INTERNAL', message: 'result cannot be encoded', retryable: false, notExecuted: false });
      return;
    }
    if (frame.length > this.limits.maxFrameBytes) {
      this.report({
        code: 'PAYLOAD_TOO_LARGE',
        message: `response of ${frame.length} bytes exceeds maxFrameBytes ${this.limits.maxFrameBytes}`,
        peer: this.peerName,
        detail: { id: call.callId, method: call.method, bytes: frame.length },
      });
      this.sendError(call.callId, {
        code: 'PAYLOAD_TOO_LARGE',
        message: `response of ${frame.length} bytes exceeds the server's maxFrameBytes ${this.limits.maxFrameBytes}`,
        retryable: false,
        notExecuted: false,
      });
      return;
    }
    this.send(frame);
  }

  private fail(call: ServerCall, err: unknown): void {
    if (!this.finish(call)) return;
    if (err instanceof RpcError) {
      this.sendError(call.callId, err);
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    this.report({ code: 'HANDLER_ERROR', message: `${call.method}: ${message}`, peer: this.peerName });
    this.sendError(call.callId, { code: 'INTERNAL', message, retryable: false, notExecuted: false });
  }

  /** Expires calls past their deadline; returns the earliest deadline still pending. */
  sweep(now: number): number {
    let next = Infinity;
    for (const call of this.calls.values()) {
      if (call.deadlineAt <= now) {
        // A held call never reached its handler.
        const notExecuted = call.held;
        const message = notExecuted ? 'deadline exceeded while the call was held' : 'deadline exceeded';
        call.abort(new RpcError('DEADLINE_EXCEEDED', message, { notExecuted }));
        this.finish(call);
        this.sendError(call.callId, { code: 'DEADLINE_EXCEEDED', message, retryable: false, notExecuted });
      } else if (call.deadlineAt < next) {
        next = call.deadlineAt;
      }
    }
    return next;
  }

  private sendError(id: number, e: ErrorFields): void {
    let frame: Buffer;
    try {
      frame = encodeError(id, e);
    } catch {
      frame = encodeError(id, { code: e.code, message: e.message, retryable: e.retryable, notExecuted: e.notExecuted, leaderHint: e.leaderHint });
    }
    if (frame.length > this.limits.maxFrameBytes) {
      frame = encodeError(id, { code: e.code, message: e.message.slice(0, 1000), retryable: e.retryable, notExecuted: e.notExecuted });
    }
    this.send(frame);
  }

  private send(frame: Buffer): void {
    this.core.send(frame);
  }

  /** The server is closing: calls still held are answered at once (UNAVAILABLE, retryable, not executed). */
  refuseHeld(): void {
    for (const call of this.calls.values()) {
      if (!call.held) continue;
      call.abort(new RpcError('UNAVAILABLE', 'server is shutting down', { notExecuted: true }));
      this.finish(call);
      this.refuse(call.callId, 'UNAVAILABLE', 'server is shutting down', true);
    }
  }

  /** Graceful close: abort what is left and say goodbye. */
  shutdown(): void {
    this.refuseHeld();
    for (const call of this.calls.values()) {
      call.abort(new RpcError('UNAVAILABLE', 'server closed before the call finished', { notExecuted: false }));
      this.finish(call);
    }
    this.core.flush();
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1001, 'server closing');
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const call of this.calls.values()) {
      call.abort(new RpcError('UNAVAILABLE', 'connection closed', { notExecuted: call.held }));
      this.finish(call);
    }
    this.emit('close');
  }
}
