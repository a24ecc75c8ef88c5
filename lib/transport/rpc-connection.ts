import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { monotonicMs, wallClockMs } from '../base/clock';
import { CallTable, PendingCall, RpcResponse } from './call-table';
import { ClientSettings, clientSettings, RpcConnectionOptions } from './client-options';
import { encodeCancel, encodeRequest, Frame, FrameError, FrameType } from './codec';
import { ConnectionCore, CoreOwner } from './connection-core';
import { DeadlineSweeper } from './deadline-sweeper';
import { livenessTickMs } from './limits';
import { incompatibility, PROTOCOL_HEADER, REFUSAL_CODE_HEADER, REFUSAL_MESSAGE_HEADER } from './protocol';
import { isRpcErrorCode, RpcError } from './rpc-error';
import { isTlsVerificationError } from './tls-errors';
import type { TransportFault } from './transport-fault';

export type { RpcConnectionOptions } from './client-options';
export type { RpcResponse } from './call-table';

export interface CallOptions {
  /** Absolute wall-clock ms; turned into a remaining time at once. Prefer `timeoutMs`. */
  deadline?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * @internal A second signal that cancels the call as `signal` does (the pool's "member left").
   * Instead of `AbortSignal.any([signal, other])`, which costs 10-20 µs per call on Node 20 and
   * keeps a weak reference per call on the long-lived source signal.
   */
  alsoCancelOn?: AbortSignal;
  meta?: Record<string, unknown>;
}

export type ConnectionState = 'connecting' | 'up' | 'down' | 'closed';

export interface DownEvent {
  reason: string;
  error: RpcError;
}

export interface RpcConnectionEvents {
  up: [];
  down: [event: DownEvent];
  fault: [fault: TransportFault];
}

/** ~24.8 days: longer waits are sent as this (servers cap calls far lower, see maxDeadlineMs). */
const MAX_WIRE_TIMEOUT_MS = 0x7fffffff;

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/**
 * The client side of one ws connection: multiplexed calls with deadlines and cancellation,
 * heartbeats, reconnect with backoff, and backpressure. The socket machinery is the shared
 * ConnectionCore; the outstanding calls live in a CallTable.
 */
export class RpcConnection extends EventEmitter<RpcConnectionEvents> {
  readonly url: string;
  private readonly s: ClientSettings;
  private stateValue: ConnectionState = 'down';
  private ws: WebSocket | undefined;
  private core: ConnectionCore | undefined;
  private readonly calls = new CallTable();
  private readonly sweeper = new DeadlineSweeper((now) => this.calls.expire(now, this.onExpired));
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectWaiters: { resolve: () => void; reject: (e: RpcError) => void }[] = [];
  private closePromise: Promise<void> | undefined;
  private refusal: RpcError | undefined;
  private deadReason: string | undefined;
  private readonly owner: CoreOwner = {
    onFrame: (f) => this.onFrame(f),
    onOversized: (bytes, header) => this.onOversized(bytes, header),
    onBadFrame: (e) => this.onBadFrame(e),
    onBackpressure: () => undefined, // call() checks the buffer before each write
    onWritable: () => this.flushQueue(),
    onDead: (reason) => {
      this.deadReason = reason;
    },
  };

  constructor(opts: RpcConnectionOptions) {
    super();
    this.s = clientSettings(opts);
    this.url = this.s.url;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /**
   * Why the server refused this connection for good (UNAUTHENTICATED, PROTOCOL_ERROR): no reconnect
   * is attempted, and callers should fail with this error rather than wait.
   */
  get refused(): RpcError | undefined {
    return this.refusal;
  }

  /** Calls not yet answered (including those queued locally). */
  get outstanding(): number {
    return this.calls.size;
  }

  /** Calls waiting in the local queue because the socket is over highWaterMarkBytes (never sent yet). */
  get queued(): number {
    return this.calls.queued;
  }

  /** Resolves when up (this attempt) or rejects with UNAVAILABLE / UNAUTHENTICATED / PROTOCOL_ERROR. */
  connect(): Promise<void> {
    if (this.stateValue === 'closed') return Promise.reject(new RpcError('UNAVAILABLE', 'connection is closed', { notExecuted: true }));
    if (this.stateValue === 'up') return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.stateValue !== 'connecting') {
      if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.open();
    }
    return p;
  }

  call<R = unknown>(method: string, params: unknown, opts?: CallOptions): Promise<RpcResponse<R>> {
    const core = this.core;
    if (this.stateValue !== 'up' || core === undefined) {
      return Promise.reject(new RpcError('UNAVAILABLE', `connection to ${this.url} is ${this.stateValue}; request not sent`, { notExecuted: true, retryable: true }));
    }
    let timeoutMs: number;
    let signal: AbortSignal | undefined;
    let signal2: AbortSignal | undefined;
    let meta: Record<string, unknown> | undefined;
    if (opts === undefined) {
      timeoutMs = this.s.defaultTimeoutMs;
    } else {
      timeoutMs = opts.deadline !== undefined ? opts.deadline - wallClockMs() : opts.timeoutMs ?? this.s.defaultTimeoutMs;
      signal = opts.signal;
      signal2 = opts.alsoCancelOn;
      meta = opts.meta;
      if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) {
        return Promise.reject(new RpcError('INVALID_ARGUMENT', 'meta must be a plain object', { notExecuted: true }));
      }
      if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs)) {
        return Promise.reject(new RpcError('INVALID_ARGUMENT', 'deadline/timeoutMs must be numbers', { notExecuted: true }));
      }
      const aborted = signal?.aborted ? signal : signal2?.aborted ? signal2 : undefined;
      if (aborted !== undefined) {
        return Promise.reject(new RpcError('CANCELLED', 'call cancelled before it was sent', { notExecuted: true, cause: aborted.reason }));
      }
    }
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(new RpcError('INVALID_ARGUMENT', 'method must be a non-empty string', { notExecuted: true }));
    }
    if (!(timeoutMs > 0)) {
      return Promise.reject(new RpcError('DEADLINE_EXCEEDED', 'deadline passed before the call was sent', { notExecuted: true }));
    }
    const id = this.calls.allocateId();
    const deadline = monotonicMs() + timeoutMs;
    let frame: Buffer;
    try {
      frame = encodeRequest(id, method, params, timeoutMs < MAX_WIRE_TIMEOUT_MS ? timeoutMs : MAX_WIRE_TIMEOUT_MS, meta);
    } catch (err) {
      return Promise.reject(new RpcError('INVALID_ARGUMENT', `params cannot be encoded: ${String((err as Error)?.message ?? err)}`, { notExecuted: true, cause: err }));
    }
    if (frame.length > this.s.maxFrameBytes) {
      return Promise.reject(new RpcError('PAYLOAD_TOO_LARGE', `request of ${frame.length} bytes exceeds maxFrameBytes ${this.s.maxFrameBytes}; not sent`, { notExecuted: true }));
    }
    return new Promise<RpcResponse<R>>((resolve, reject) => {
      const call = new PendingCall(id, deadline, resolve as (r: RpcResponse<unknown>) => void, reject, signal, signal2);
      this.calls.add(call);
      if (signal !== undefined || signal2 !== undefined) {
        call.onAbort = () => this.cancel(call);
        signal?.addEventListener('abort', call.onAbort, { once: true });
        signal2?.addEventListener('abort', call.onAbort, { once: true });
      }
      this.sweeper.track(deadline);
      if (this.calls.hasQueue || core.bufferedAmount >= this.s.highWaterMarkBytes) {
        this.calls.enqueue(call, frame);
      } else {
        core.send(frame);
        call.written = true;
      }
    });
  }

  private cancel(call: PendingCall): void {
    if (this.calls.take(call.id) !== call) return;
    if (call.written) this.core?.send(encodeCancel(call.id));
    // The reason of the signal that fired (the caller's first when both have).
    const reason: unknown = call.signal?.aborted ? call.signal.reason : call.signal2?.reason;
    call.reject(new RpcError('CANCELLED', 'call cancelled by the caller', { notExecuted: !call.written, cause: reason }));
  }

  private readonly onExpired = (call: PendingCall): void => {
    // Tell the server to stop working on it.
    if (call.written) this.core?.send(encodeCancel(call.id));
    call.reject(new RpcError('DEADLINE_EXCEEDED', 'deadline exceeded', { notExecuted: !call.written }));
  };

  private flushQueue(): void {
    const core = this.core;
    if (core === undefined || !core.isOpen) return;
    while (this.calls.hasQueue && core.bufferedAmount < this.s.highWaterMarkBytes) {
      const call = this.calls.nextQueued();
      if (call === undefined) break;
      const frame = call.frame!;
      call.frame = undefined;
      core.send(frame);
      call.written = true;
    }
  }

  private fault(f: TransportFault): void {
    try {
      if (this.listenerCount('fault') > 0) this.emit('fault', f);
    } catch {
      // A throwing listener must not break the connection.
    }
  }

  private open(): void {
    this.stateValue = 'connecting';
    let failure: RpcError | undefined;
    let lastError: Error | undefined;
    let socket: Duplex | undefined;
    const s = this.s;
    const ws = new WebSocket(this.url, {
      headers: s.upgradeHeaders,
      perMessageDeflate: false,
      maxPayload: s.hardMaxFrameBytes,
      handshakeTimeout: s.connectTimeoutMs,
      skipUTF8Validation: true,
      followRedirects: false,
      ca: s.tls?.ca,
      rejectUnauthorized: s.tls?.rejectUnauthorized,
      generateMask: s.zeroMask ? zeroMask : undefined,
    });
    this.ws = ws;
    ws.on('upgrade', (res) => {
      socket = res.socket;
      const why = incompatibility(s.protocolVersion, res.headers[PROTOCOL_HEADER]);
      if (why !== undefined) failure = new RpcError('PROTOCOL_ERROR', `server ${this.url} refused: ${why}`, { notExecuted: true, retryable: false });
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      const codeHeader = res.headers[REFUSAL_CODE_HEADER];
      const messageHeader = res.headers[REFUSAL_MESSAGE_HEADER];
      const message = `server ${this.url} refused the connection (HTTP ${status}): ${typeof messageHeader === 'string' ? messageHeader : 'no reason given'}`;
      const code = isRpcErrorCode(codeHeader) ? codeHeader : status === 401 || status === 403 ? 'UNAUTHENTICATED' : status === 426 ? 'PROTOCOL_ERROR' : 'UNAVAILABLE';
      failure = new RpcError(code, message, { notExecuted: true, retryable: code === 'UNAVAILABLE', data: { status } });
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      if (failure !== undefined || this.ws !== ws || socket === undefined) {
        ws.terminate();
        return;
      }
      this.stateValue = 'up';
      this.refusal = undefined;
      s.backoff?.reset();
      this.core = new ConnectionCore(ws, socket, this.owner, s, this.url, (f) => this.fault(f), s.zeroMask ? 'client-zero-mask' : 'ws');
      this.startHeartbeat(this.core);
      for (const w of this.connectWaiters.splice(0)) w.resolve();
      this.emit('up');
    });
    ws.on('error', (err: Error & { code?: string }) => {
      lastError = err;
      if (failure === undefined && isTlsVerificationError(err)) {
        // A certificate that does not verify will not verify on the next try either: say so, once.
        failure = new RpcError('UNAUTHENTICATED', `server ${this.url}: TLS certificate rejected (${err.code}): ${err.message}`, {
          notExecuted: true, retryable: false, data: { tlsCode: err.code },
        });
        this.fault({ code: 'TLS_VERIFICATION_FAILED', message: failure.message, peer: this.url, detail: { tlsCode: err.code } });
      }
    });
    ws.on('close', (code: number, reasonBuf: Buffer) => {
      const reason = reasonBuf.length > 0 ? reasonBuf.toString() : `code ${code}`;
      this.onClosed(ws, failure, lastError, reason);
    });
  }

  private startHeartbeat(core: ConnectionCore): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (this.core === core && core.isOpen) core.heartbeat(monotonicMs());
    }, livenessTickMs(this.s));
    this.heartbeatTimer.unref();
  }

  private onClosed(ws: WebSocket, failure: RpcError | undefined, lastError: Error | undefined, closeReason: string): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.core?.detach();
    this.core = undefined;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    const wasUp = this.stateValue === 'up';
    const reason = this.deadReason ?? (failure ? failure.message : lastError ? lastError.message : closeReason);
    this.deadReason = undefined;
    const error = failure ?? new RpcError(
      'UNAVAILABLE',
      wasUp ? `connection to ${this.url} lost: ${reason}` : `cannot connect to ${this.url}: ${reason}`,
      { notExecuted: true, retryable: true, cause: lastError },
    );
    this.failAll(wasUp ? `connection to ${this.url} lost (${reason})` : `connection to ${this.url} failed (${reason})`);
    if (this.stateValue === 'closed') return;
    this.stateValue = 'down';
    if (wasUp) this.emit('down', { reason, error } satisfies DownEvent);
    else this.fault({ code: 'CONNECT_FAILED', message: error.message, peer: this.url, detail: { errorCode: error.code } });
    for (const w of this.connectWaiters.splice(0)) w.reject(error);
    const permanent = error.code === 'UNAUTHENTICATED' || error.code === 'PROTOCOL_ERROR';
    this.refusal = permanent ? error : undefined;
    if (this.s.backoff !== undefined && !permanent) {
      const delay = this.s.backoff.next();
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        if (this.stateValue === 'down') this.open();
      }, delay);
      this.reconnectTimer.unref();
    }
  }

  /** Fails every outstanding call, telling apart "never sent" from "sent, outcome unknown". */
  private failAll(why: string): void {
    if (this.calls.size === 0) return;
    for (const call of this.calls.takeAll()) {
      call.reject(
        call.written
          ? new RpcError('UNAVAILABLE', `${why} after the request was sent; outcome unknown`, { notExecuted: false, retryable: true })
          : new RpcError('UNAVAILABLE', `${why} before the request was sent`, { notExecuted: true, retryable: true }),
      );
    }
  }

  private onOversized(bytes: number, header: { type: number; id: number } | undefined): void {
    if (header !== undefined && (header.type === FrameType.RESPONSE || header.type === FrameType.ERROR)) {
      this.calls.take(header.id)?.reject(new RpcError(
        'PAYLOAD_TOO_LARGE',
        `response of ${bytes} bytes exceeds this client's maxFrameBytes ${this.s.maxFrameBytes}`,
        { notExecuted: false, retryable: false },
      ));
    }
  }

  private onBadFrame(e: FrameError): void {
    if (e.id !== undefined && (e.type === FrameType.RESPONSE || e.type === FrameType.ERROR)) {
      this.calls.take(e.id)?.reject(new RpcError('PROTOCOL_ERROR', `bad response frame: ${e.message}`, { notExecuted: false, retryable: false }));
    }
  }

  private onFrame(frame: Frame): void {
    switch (frame[0]) {
      case FrameType.RESPONSE: {
        // Unknown ids are late answers to calls that already timed out or were cancelled.
        const call = this.calls.take(frame[1]);
        if (call !== undefined) call.resolve({ result: frame[2], epoch: frame[3] });
        return;
      }
      case FrameType.ERROR: {
        const call = this.calls.take(frame[1]);
        if (call === undefined) return;
        const code = frame[2];
        call.reject(new RpcError(isRpcErrorCode(code) ? code : 'INTERNAL', frame[3], {
          retryable: frame[4],
          notExecuted: frame[5],
          leaderHint: frame[6],
          data: isRpcErrorCode(code) ? frame[7] : { remoteCode: code, data: frame[7] },
        }));
        return;
      }
      default:
        this.fault({ code: 'UNEXPECTED_FRAME', message: `frame type ${frame[0]} is not accepted by a client`, peer: this.url });
    }
  }

  /** Closes for good; outstanding calls fail UNAVAILABLE (notExecuted according to whether they were written). */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.stateValue = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.sweeper.stop();
    this.failAll('connection closed by the client');
    const closedError = new RpcError('UNAVAILABLE', 'connection closed by the client', { notExecuted: true });
    for (const w of this.connectWaiters.splice(0)) w.reject(closedError);
    const ws = this.ws;
    this.closePromise = new Promise<void>((resolve) => {
      if (ws === undefined || ws.readyState === WebSocket.CLOSED) {
        resolve();
        return;
      }
      const timer = setTimeout(() => ws.terminate(), 1000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      // Frames queued this tick (requests already counted as written, cancels) go before the close frame.
      this.core?.flush();
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'client closing');
      else ws.terminate();
    });
    return this.closePromise;
  }
}
