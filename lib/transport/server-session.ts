import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { decodeFrame, encodeError, encodeResponse, ErrorFields, FrameError, FrameType, peekHeader, RequestFrame } from './codec';
import { RpcError } from './rpc-error';
import { CallContext, PeerInfo, ServerCall } from './server-call';
import type { TransportFault } from './transport-fault';

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

/** What a session needs from its server: shared limits, handlers and bookkeeping. */
export interface SessionHost {
  readonly maxFrameBytes: number;
  readonly maxInFlightPerConnection: number;
  readonly defaultDeadlineMs: number;
  readonly highWaterMarkBytes: number;
  readonly closing: boolean;
  readonly admit: AdmitHook | undefined;
  handlerFor(method: string): Handler | undefined;
  /** Takes a server-wide in-flight slot; false when the server is full. */
  tryAcquire(): boolean;
  release(): void;
  trackDeadline(deadline: number): void;
  fault(f: TransportFault): void;
  sessionClosed(session: ServerSession): void;
}

const EMPTY = Buffer.alloc(0);

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** The server side of one ws connection: decodes frames, runs calls, enforces per-connection limits. */
export class ServerSession {
  readonly calls = new Map<number, ServerCall>();
  readonly peerName: string;
  /** Set on any inbound traffic; the heartbeat turns it into `lastSeen`. */
  private sawTraffic = true;
  private lastSeen = Date.now();
  private paused = false;
  /** Frames read while paused, to run once the peer reads again. */
  private backlog: Buffer[] = [];
  private backlogHead = 0;
  private closedFlag = false;
  readonly closed: Promise<void>;

  private corked = false;
  private sentThisTick = false;

  constructor(
    private readonly host: SessionHost,
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    readonly peer: PeerInfo,
  ) {
    this.peerName = `${peer.address}:${peer.port}`;
    let markClosed!: () => void;
    this.closed = new Promise<void>((resolve) => (markClosed = resolve));
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('ping', this.onTraffic);
    ws.on('pong', this.onTraffic);
    ws.on('error', (err: Error & { code?: string }) => {
      const hard = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      this.host.fault({
        code: hard ? 'FRAME_OVER_HARD_LIMIT' : 'SOCKET_ERROR',
        message: err.message,
        peer: this.peerName,
        detail: { errorCode: err.code },
      });
    });
    ws.on('close', () => {
      this.onClose();
      markClosed();
    });
    // A slow reader: we paused reading from it; resume once its backlog is written out.
    socket.on('drain', () => {
      if (this.paused && this.ws.bufferedAmount < this.host.highWaterMarkBytes) {
        this.paused = false;
        this.drainBacklog();
        if (!this.paused) this.ws.resume();
      }
    });
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private readonly onTraffic = (): void => {
    this.sawTraffic = true;
  };

  /** Called by the server's heartbeat timer. */
  heartbeat(now: number, heartbeatMs: number, timeoutMs: number): void {
    if (this.sawTraffic) {
      this.sawTraffic = false;
      this.lastSeen = now;
      return;
    }
    const idle = now - this.lastSeen;
    if (idle > timeoutMs) {
      this.host.fault({ code: 'HEARTBEAT_TIMEOUT', message: `no traffic from peer for ${idle} ms`, peer: this.peerName });
      this.ws.terminate();
    } else if (idle >= heartbeatMs && this.ws.readyState === WebSocket.OPEN) {
      this.ws.ping();
    }
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    this.sawTraffic = true;
    // Pausing the socket stops further reads, but frames already read keep arriving: park them
    // (at most about one socket read's worth) instead of running them.
    if (this.paused || this.backlogHead < this.backlog.length) {
      if (isBinary) this.backlog.push(data);
      return;
    }
    this.handleFrame(data, isBinary);
  }

  private drainBacklog(): void {
    while (!this.paused && this.backlogHead < this.backlog.length) {
      const data = this.backlog[this.backlogHead]!;
      this.backlog[this.backlogHead++] = EMPTY;
      this.handleFrame(data, true);
    }
    if (this.backlogHead >= this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
    }
  }

  private handleFrame(data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      this.host.fault({ code: 'TEXT_FRAME', message: 'text message ignored; frames are binary', peer: this.peerName });
      return;
    }
    if (data.length > this.host.maxFrameBytes) {
      this.onOversized(data);
      return;
    }
    let frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      this.onBadFrame(err as FrameError);
      return;
    }
    switch (frame[0]) {
      case FrameType.REQUEST:
        this.onRequest(frame);
        return;
      case FrameType.CANCEL:
        this.onCancel(frame[1]);
        return;
      default:
        this.host.fault({
          code: 'UNEXPECTED_FRAME',
          message: `frame type ${frame[0]} is not accepted by a server`,
          peer: this.peerName,
          detail: { id: frame[1], type: frame[0] },
        });
    }
  }

  private onOversized(data: Buffer): void {
    const header = peekHeader(data);
    this.host.fault({
      code: 'PAYLOAD_TOO_LARGE',
      message: `frame of ${data.length} bytes exceeds maxFrameBytes ${this.host.maxFrameBytes}`,
      peer: this.peerName,
      detail: { bytes: data.length, id: header?.id, type: header?.type },
    });
    if (header !== undefined && header.type === FrameType.REQUEST && !this.calls.has(header.id)) {
      this.sendError(header.id, {
        code: 'PAYLOAD_TOO_LARGE',
        message: `request of ${data.length} bytes exceeds the server's maxFrameBytes ${this.host.maxFrameBytes}`,
        retryable: false,
        notExecuted: true,
      });
    }
  }

  private onBadFrame(err: FrameError): void {
    const undecodable = err.reason === 'UNDECODABLE';
    this.host.fault({
      code: undecodable ? 'UNDECODABLE_FRAME' : 'BAD_FRAME',
      message: err.message,
      peer: this.peerName,
      detail: { id: err.id, type: err.type },
    });
    // Answer the call when we can tell which one it was, unless that id is a live call (a
    // garbage frame must not decide the outcome of a good one).
    if (err.id !== undefined && err.type === FrameType.REQUEST && !this.calls.has(err.id)) {
      this.sendError(err.id, { code: 'PROTOCOL_ERROR', message: err.message, retryable: false, notExecuted: true });
    }
  }

  private onRequest(frame: RequestFrame): void {
    const id = frame[1];
    const host = this.host;
    if (this.calls.has(id)) {
      host.fault({ code: 'DUPLICATE_CALL_ID', message: `call id ${id} is already in flight`, peer: this.peerName, detail: { id } });
      return;
    }
    const method = frame[2];
    if (host.closing) {
      this.sendError(id, { code: 'UNAVAILABLE', message: 'server is shutting down', retryable: true, notExecuted: true });
      return;
    }
    const handler = host.handlerFor(method);
    if (handler === undefined) {
      this.sendError(id, { code: 'METHOD_NOT_FOUND', message: `no method ${JSON.stringify(method)}`, retryable: false, notExecuted: true });
      return;
    }
    if (this.calls.size >= host.maxInFlightPerConnection) {
      this.refuseOverloaded(id, `connection has ${this.calls.size} calls in flight (maxInFlightPerConnection)`);
      return;
    }
    if (!host.tryAcquire()) {
      this.refuseOverloaded(id, 'server is at maxInFlight');
      return;
    }
    const now = Date.now();
    const deadline = frame[4] > 0 ? frame[4] : now + host.defaultDeadlineMs;
    if (deadline <= now) {
      host.release();
      this.sendError(id, { code: 'DEADLINE_EXCEEDED', message: 'deadline passed before the call started', retryable: false, notExecuted: true });
      return;
    }
    const meta = frame[5];
    const call = new ServerCall(id, method, deadline, meta, undefined, this.peer);
    this.calls.set(id, call);
    host.trackDeadline(deadline);
    // The admit hook (a primary's lease guard) runs LAST, right before the handler: a process can be
    // frozen between any check and the act after it, so nothing else may sit in between.
    if (host.admit !== undefined) {
      let decision: RpcError | AdmitDecision;
      try {
        decision = host.admit({ method, meta: meta ?? {}, peer: this.peer });
      } catch (err) {
        this.calls.delete(id);
        host.release();
        host.fault({ code: 'ADMIT_ERROR', message: `admit hook threw: ${String((err as Error)?.message ?? err)}`, peer: this.peerName });
        this.sendError(id, { code: 'INTERNAL', message: 'admission check failed', retryable: false, notExecuted: true });
        return;
      }
      if (decision instanceof RpcError) {
        this.calls.delete(id);
        host.release();
        this.sendError(id, decision);
        return;
      }
      call.epoch = decision?.epoch;
    }
    let result: unknown;
    try {
      result = handler(frame[3], call);
    } catch (err) {
      this.fail(call, err);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.succeed(call, value),
        (err: unknown) => this.fail(call, err),
      );
    } else {
      this.succeed(call, result);
    }
  }

  private refuseOverloaded(id: number, why: string): void {
    this.host.fault({ code: 'OVERLOADED', message: why, peer: this.peerName, detail: { id } });
    this.sendError(id, { code: 'OVERLOADED', message: why, retryable: true, notExecuted: true });
  }

  private onCancel(id: number): void {
    const call = this.calls.get(id);
    // A cancel for a finished call is a normal race, not a fault.
    if (call === undefined) return;
    call.abort(new RpcError('CANCELLED', 'call cancelled by the client', { notExecuted: false }));
    this.finish(call);
  }

  /** Marks a call done and frees its slots; false if it was already done. */
  private finish(call: ServerCall): boolean {
    if (call.done) return false;
    call.done = true;
    this.calls.delete(call.callId);
    this.host.release();
    return true;
  }

  private succeed(call: ServerCall, value: unknown): void {
    if (!this.finish(call)) return;
    let frame: Buffer;
    try {
      frame = encodeResponse(call.callId, value, call.epoch);
    } catch (err) {
      this.host.fault({
        code: 'NOT_ENCODABLE',
        message: `result of ${call.method} cannot be encoded: ${String((err as Error)?.message ?? err)}`,
        peer: this.peerName,
      });
      this.sendError(call.callId, { code: 'INTERNAL', message: 'result cannot be encoded', retryable: false, notExecuted: false });
      return;
    }
    if (frame.length > this.host.maxFrameBytes) {
      this.host.fault({
        code: 'PAYLOAD_TOO_LARGE',
        message: `response of ${frame.length} bytes exceeds maxFrameBytes ${this.host.maxFrameBytes}`,
        peer: this.peerName,
        detail: { id: call.callId, method: call.method, bytes: frame.length },
      });
      this.sendError(call.callId, {
        code: 'PAYLOAD_TOO_LARGE',
        message: `response of ${frame.length} bytes exceeds the server's maxFrameBytes ${this.host.maxFrameBytes}`,
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
    this.host.fault({ code: 'HANDLER_ERROR', message: `${call.method}: ${message}`, peer: this.peerName });
    this.sendError(call.callId, { code: 'INTERNAL', message, retryable: false, notExecuted: false });
  }

  /** Expires calls past their deadline; returns the earliest deadline still pending. */
  sweep(now: number): number {
    let next = Infinity;
    for (const call of this.calls.values()) {
      if (call.deadline <= now) {
        call.abort(new RpcError('DEADLINE_EXCEEDED', 'deadline exceeded', { notExecuted: false }));
        this.finish(call);
        this.sendError(call.callId, { code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded', retryable: false, notExecuted: false });
      } else if (call.deadline < next) {
        next = call.deadline;
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
    if (frame.length > this.host.maxFrameBytes) {
      frame = encodeError(id, { code: e.code, message: e.message.slice(0, 1000), retryable: e.retryable, notExecuted: e.notExecuted });
    }
    this.send(frame);
  }

  /**
   * Answers written in the same tick leave together: the first goes out at once (no added
   * latency for a lone call), later ones in the same tick are corked into one writev, flushed
   * once the current batch of work (frames from the same TCP read, promise continuations) has
   * run. Measured: far fewer syscalls and higher throughput under concurrency.
   */
  private readonly endTick = (): void => {
    this.sentThisTick = false;
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
  };

  private send(frame: Buffer): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (!this.sentThisTick) {
      this.sentThisTick = true;
      process.nextTick(this.endTick);
    } else if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
    ws.send(frame);
    // A peer that does not read cannot grow our memory: stop reading its requests until its
    // backlog drains. What is still in flight is bounded by maxInFlightPerConnection.
    if (!this.paused && ws.bufferedAmount > this.host.highWaterMarkBytes) {
      this.paused = true;
      ws.pause();
      this.host.fault({
        code: 'SLOW_READER',
        message: `peer is not reading (${ws.bufferedAmount} bytes buffered); reading paused`,
        peer: this.peerName,
        detail: { bufferedAmount: ws.bufferedAmount },
      });
    }
  }

  /** Graceful close: abort what is left and say goodbye. */
  shutdown(): void {
    for (const call of this.calls.values()) {
      call.abort(new RpcError('UNAVAILABLE', 'server closed before the call finished', { notExecuted: false }));
      this.finish(call);
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1001, 'server closing');
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const call of this.calls.values()) {
      call.abort(new RpcError('UNAVAILABLE', 'connection closed', { notExecuted: false }));
      this.finish(call);
    }
    this.host.sessionClosed(this);
  }
}
