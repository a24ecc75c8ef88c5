import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { InvalidOptionError } from '../base/errors';
import { booleanOption, integerInRange, nonEmptyString, positiveNumber } from '../base/options';
import { Backoff, BackoffOptions } from '../base/backoff';
import { decodeFrame, encodeCancel, encodeRequest, FrameError, FrameType, MAX_CALL_ID, peekHeader } from './codec';
import { DeadlineSweeper } from './deadline-sweeper';
import { incompatibility, PROTOCOL_HEADER, PROTOCOL_VERSION, REFUSAL_CODE_HEADER, REFUSAL_MESSAGE_HEADER } from './protocol';
import { isRpcErrorCode, RpcError } from './rpc-error';
import type { TransportFault } from './transport-fault';

export interface RpcConnectionOptions {
  /** ws://host:port or wss://host:port */
  url: string;
  /** Ping when idle this often. Default 5000. */
  heartbeatMs?: number;
  /** Declare the connection dead after this long without any traffic. Default 3 x heartbeatMs. */
  heartbeatTimeoutMs?: number;
  /** Reconnect with exponential backoff and jitter (default on); false = stay down. */
  reconnect?: BackoffOptions | false;
  /** Requests over this fail locally, responses over this fail their call (PAYLOAD_TOO_LARGE). Default 4 MiB. */
  maxFrameBytes?: number;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Queue requests locally (not yet sent) while the socket has more than this buffered. Default 1 MiB. */
  highWaterMarkBytes?: number;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /** Deadline of calls that give neither `deadline` nor `timeoutMs`. Default 30 000. */
  defaultTimeoutMs?: number;
  /**
   * Mask client frames with an all-zero key (default true). Masking only protects browsers'
   * intermediaries; with a zero key ws skips the XOR on both sides, which is a large share of
   * the cost for big payloads. Set false for random masks.
   */
  zeroMask?: boolean;
  /** For tests of version negotiation; normally left alone. */
  protocolVersion?: string;
}

export interface CallOptions {
  /** Absolute epoch ms. */
  deadline?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  meta?: Record<string, unknown>;
}

export interface RpcResponse<R = unknown> {
  result: R;
  epoch: number | undefined;
}

export type ConnectionState = 'connecting' | 'up' | 'down' | 'closed';

export interface DownEvent {
  reason: string;
  error: RpcError;
}

const MiB = 1024 * 1024;

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/** One outstanding call. `written` is the retry-safety bit: once true the outcome is unknown on loss. */
class PendingCall {
  written = false;
  /** The encoded request while it waits in the local queue (backpressure). */
  frame: Buffer | undefined;
  onAbort: (() => void) | undefined;
  constructor(
    readonly id: number,
    readonly deadline: number,
    readonly resolve: (r: RpcResponse<unknown>) => void,
    readonly reject: (e: RpcError) => void,
    readonly signal: AbortSignal | undefined,
  ) {}
}

/**
 * The client side of one ws connection: multiplexed calls with deadlines and cancellation,
 * heartbeats, reconnect with backoff, and backpressure. Events: 'up', 'down' (DownEvent),
 * 'fault' (TransportFault).
 */
export class RpcConnection extends EventEmitter {
  readonly url: string;
  private readonly heartbeatMs: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly backoff: Backoff | undefined;
  private readonly maxFrameBytes: number;
  private readonly hardMaxFrameBytes: number;
  private readonly highWaterMarkBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly defaultTimeoutMs: number;
  private readonly protocolVersion: string;
  private readonly upgradeHeaders: Record<string, string>;
  private readonly tls: RpcConnectionOptions['tls'];
  private readonly zeroMask: boolean;
  private socket: Duplex | undefined;
  private corked = false;
  private sentThisTick = false;
  private corkedSocket: Duplex | undefined;

  private stateValue: ConnectionState = 'down';
  private ws: WebSocket | undefined;
  private readonly pending = new Map<number, PendingCall>();
  private queue: PendingCall[] = [];
  private queueHead = 0;
  private nextId = 1;
  private readonly sweeper = new DeadlineSweeper((now) => this.sweep(now));
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private sawTraffic = false;
  private lastSeen = 0;
  private connectWaiters: { resolve: () => void; reject: (e: RpcError) => void }[] = [];
  private closePromise: Promise<void> | undefined;
  private refusal: RpcError | undefined;

  constructor(opts: RpcConnectionOptions) {
    super();
    if (typeof opts !== 'object' || opts === null) throw new InvalidOptionError('options', 'must be an object');
    this.url = nonEmptyString('url', opts.url);
    let parsed: URL;
    try {
      parsed = new URL(this.url);
    } catch {
      throw new InvalidOptionError('url', `not a valid URL: ${JSON.stringify(this.url)}`);
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new InvalidOptionError('url', 'must start with ws:// or wss://');
    this.heartbeatMs = positiveNumber('heartbeatMs', opts.heartbeatMs, 5000);
    this.heartbeatTimeoutMs = positiveNumber('heartbeatTimeoutMs', opts.heartbeatTimeoutMs, 3 * this.heartbeatMs);
    if (this.heartbeatTimeoutMs <= this.heartbeatMs) {
      throw new InvalidOptionError('heartbeatTimeoutMs', `must be greater than heartbeatMs (${this.heartbeatMs})`);
    }
    if (opts.reconnect !== false && opts.reconnect !== undefined && (typeof opts.reconnect !== 'object' || opts.reconnect === null)) {
      throw new InvalidOptionError('reconnect', 'must be an object or false');
    }
    // 'equal' jitter: never less than half the ceiling, so a flapping server is not hammered.
    this.backoff = opts.reconnect === false ? undefined : new Backoff({ jitter: 'equal', ...opts.reconnect });
    this.maxFrameBytes = integerInRange('maxFrameBytes', opts.maxFrameBytes, 64, 1024 * MiB, 4 * MiB);
    this.hardMaxFrameBytes = Math.max(4 * this.maxFrameBytes, this.maxFrameBytes + MiB);
    // At least the socket's own high-water mark (16 KiB), so that going over it means a 'drain' will come.
    this.highWaterMarkBytes = integerInRange('highWaterMarkBytes', opts.highWaterMarkBytes, 16 * 1024, 1e12, MiB);
    this.connectTimeoutMs = positiveNumber('connectTimeoutMs', opts.connectTimeoutMs, 10_000);
    this.defaultTimeoutMs = positiveNumber('defaultTimeoutMs', opts.defaultTimeoutMs, 30_000);
    this.protocolVersion = nonEmptyString('protocolVersion', opts.protocolVersion, PROTOCOL_VERSION);
    const headers: Record<string, string> = {};
    if (opts.headers !== undefined) {
      if (typeof opts.headers !== 'object' || opts.headers === null) throw new InvalidOptionError('headers', 'must be an object');
      for (const [k, v] of Object.entries(opts.headers)) {
        if (typeof v !== 'string') throw new InvalidOptionError(`headers.${k}`, 'must be a string');
        headers[k] = v;
      }
    }
    if (opts.token !== undefined) headers.authorization = `Bearer ${nonEmptyString('token', opts.token)}`;
    headers[PROTOCOL_HEADER] = this.protocolVersion;
    this.upgradeHeaders = headers;
    if (opts.tls !== undefined && (typeof opts.tls !== 'object' || opts.tls === null)) throw new InvalidOptionError('tls', 'must be an object');
    this.tls = opts.tls;
    this.zeroMask = booleanOption('zeroMask', opts.zeroMask, true);
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
    return this.pending.size;
  }

  /** Calls waiting in the local queue because the socket is over highWaterMarkBytes (never sent yet). */
  get queued(): number {
    let n = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) if (this.queue[i]!.frame !== undefined) n++;
    return n;
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
    const ws = this.ws;
    if (this.stateValue !== 'up' || ws === undefined) {
      return Promise.reject(new RpcError('UNAVAILABLE', `connection to ${this.url} is ${this.stateValue}; request not sent`, { notExecuted: true, retryable: true }));
    }
    let deadline: number;
    let signal: AbortSignal | undefined;
    let meta: Record<string, unknown> | undefined;
    if (opts === undefined) {
      deadline = Date.now() + this.defaultTimeoutMs;
    } else {
      deadline = opts.deadline ?? Date.now() + (opts.timeoutMs ?? this.defaultTimeoutMs);
      signal = opts.signal;
      meta = opts.meta;
      if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) {
        return Promise.reject(new RpcError('INVALID_ARGUMENT', 'meta must be a plain object', { notExecuted: true }));
      }
      if (typeof deadline !== 'number' || Number.isNaN(deadline)) {
        return Promise.reject(new RpcError('INVALID_ARGUMENT', 'deadline/timeoutMs must be numbers', { notExecuted: true }));
      }
      if (signal?.aborted) {
        return Promise.reject(new RpcError('CANCELLED', 'call cancelled before it was sent', { notExecuted: true, cause: signal.reason }));
      }
    }
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(new RpcError('INVALID_ARGUMENT', 'method must be a non-empty string', { notExecuted: true }));
    }
    const id = this.allocateId();
    let frame: Buffer;
    try {
      frame = encodeRequest(id, method, params, deadline, meta);
    } catch (err) {
      return Promise.reject(new RpcError('INVALID_ARGUMENT', `params cannot be encoded: ${String((err as Error)?.message ?? err)}`, { notExecuted: true, cause: err }));
    }
    if (frame.length > this.maxFrameBytes) {
      return Promise.reject(new RpcError('PAYLOAD_TOO_LARGE', `request of ${frame.length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}; not sent`, { notExecuted: true }));
    }
    return new Promise<RpcResponse<R>>((resolve, reject) => {
      const call = new PendingCall(id, deadline, resolve as (r: RpcResponse<unknown>) => void, reject, signal);
      this.pending.set(id, call);
      if (signal !== undefined) {
        call.onAbort = () => this.cancel(call);
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.sweeper.track(deadline);
      if (this.queueHead < this.queue.length || ws.bufferedAmount >= this.highWaterMarkBytes) {
        call.frame = frame;
        this.queue.push(call);
      } else {
        this.write(ws, frame);
        call.written = true;
      }
    });
  }

  /**
   * Requests issued in the same tick leave together: the first goes out at once, later ones
   * are corked into one writev flushed after the current batch of work (e.g. all continuations
   * of the responses read together). Measured: fewer syscalls, more calls/s under concurrency.
   */
  private write(ws: WebSocket, frame: Buffer): void {
    if (!this.sentThisTick) {
      this.sentThisTick = true;
      process.nextTick(this.endTick);
    } else if (!this.corked && this.socket !== undefined) {
      this.corked = true;
      this.corkedSocket = this.socket;
      this.socket.cork();
    }
    ws.send(frame);
  }

  private readonly endTick = (): void => {
    this.sentThisTick = false;
    if (this.corked) {
      this.corked = false;
      this.corkedSocket?.uncork();
      this.corkedSocket = undefined;
    }
  };

  private allocateId(): number {
    let id = this.nextId;
    // Ids wrap; skip one still in use (only possible with ~4e9 calls outstanding-ish, cheap to check).
    while (this.pending.has(id)) id = id >= MAX_CALL_ID ? 1 : id + 1;
    this.nextId = id >= MAX_CALL_ID ? 1 : id + 1;
    return id;
  }

  /** Removes a call from the table; undefined if it was already settled. */
  private take(id: number): PendingCall | undefined {
    const call = this.pending.get(id);
    if (call === undefined) return undefined;
    this.pending.delete(id);
    if (call.onAbort !== undefined) call.signal!.removeEventListener('abort', call.onAbort);
    call.frame = undefined;
    return call;
  }

  private cancel(call: PendingCall): void {
    if (this.take(call.id) !== call) return;
    if (call.written) this.sendControl(encodeCancel(call.id));
    const reason: unknown = call.signal?.reason;
    call.reject(new RpcError('CANCELLED', 'call cancelled by the caller', { notExecuted: !call.written, cause: reason }));
  }

  private sendControl(frame: Buffer): void {
    const ws = this.ws;
    if (ws !== undefined && ws.readyState === WebSocket.OPEN) this.write(ws, frame);
  }

  private sweep(now: number): number {
    let next = Infinity;
    for (const call of this.pending.values()) {
      if (call.deadline <= now) {
        this.take(call.id);
        // Tell the server to stop working on it.
        if (call.written) this.sendControl(encodeCancel(call.id));
        call.reject(new RpcError('DEADLINE_EXCEEDED', 'deadline exceeded', { notExecuted: !call.written }));
      } else if (call.deadline < next) {
        next = call.deadline;
      }
    }
    return next;
  }

  private flushQueue(): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return;
    while (this.queueHead < this.queue.length && ws.bufferedAmount < this.highWaterMarkBytes) {
      const call = this.queue[this.queueHead++]!;
      const frame = call.frame;
      if (frame === undefined || this.pending.get(call.id) !== call) continue;
      call.frame = undefined;
      this.write(ws, frame);
      call.written = true;
    }
    if (this.queueHead >= this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
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
    const ws = new WebSocket(this.url, {
      headers: this.upgradeHeaders,
      perMessageDeflate: false,
      maxPayload: this.hardMaxFrameBytes,
      handshakeTimeout: this.connectTimeoutMs,
      skipUTF8Validation: true,
      followRedirects: false,
      ca: this.tls?.ca,
      rejectUnauthorized: this.tls?.rejectUnauthorized,
      generateMask: this.zeroMask ? zeroMask : undefined,
    });
    this.ws = ws;
    ws.on('upgrade', (res) => {
      if (this.ws === ws) this.socket = res.socket;
      const why = incompatibility(this.protocolVersion, res.headers[PROTOCOL_HEADER]);
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
      if (failure !== undefined || this.ws !== ws) {
        ws.terminate();
        return;
      }
      this.stateValue = 'up';
      this.refusal = undefined;
      this.backoff?.reset();
      this.lastSeen = Date.now();
      this.sawTraffic = false;
      this.socket?.on('drain', () => this.flushQueue());
      this.startHeartbeat(ws);
      for (const w of this.connectWaiters.splice(0)) w.resolve();
      this.emit('up');
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.ws === ws) this.onMessage(data, isBinary);
    });
    const onTraffic = (): void => {
      this.sawTraffic = true;
    };
    ws.on('ping', onTraffic);
    ws.on('pong', onTraffic);
    ws.on('error', (err: Error) => {
      lastError = err;
    });
    ws.on('close', (code: number, reasonBuf: Buffer) => {
      const reason = reasonBuf.length > 0 ? reasonBuf.toString() : `code ${code}`;
      this.onClosed(ws, failure, lastError, reason);
    });
  }

  private startHeartbeat(ws: WebSocket): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    const tick = Math.max(10, Math.min(this.heartbeatMs, this.heartbeatTimeoutMs / 3));
    this.heartbeatTimer = setInterval(() => {
      if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
      const now = Date.now();
      if (this.sawTraffic) {
        this.sawTraffic = false;
        this.lastSeen = now;
        return;
      }
      const idle = now - this.lastSeen;
      if (idle > this.heartbeatTimeoutMs) {
        this.fault({ code: 'HEARTBEAT_TIMEOUT', message: `no traffic from ${this.url} for ${idle} ms; connection declared dead`, peer: this.url });
        this.deadReason = `heartbeat timeout (${idle} ms without traffic)`;
        ws.terminate();
      } else if (idle >= this.heartbeatMs) {
        ws.ping();
      }
    }, tick);
    this.heartbeatTimer.unref();
  }

  private deadReason: string | undefined;

  private onClosed(ws: WebSocket, failure: RpcError | undefined, lastError: Error | undefined, closeReason: string): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.socket = undefined;
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
    if (this.backoff !== undefined && !permanent) {
      const delay = this.backoff.next();
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        if (this.stateValue === 'down') this.open();
      }, delay);
      this.reconnectTimer.unref();
    }
  }

  /** Fails every outstanding call, telling apart "never sent" from "sent, outcome unknown". */
  private failAll(why: string): void {
    if (this.pending.size === 0) return;
    const calls = [...this.pending.values()];
    for (const call of calls) {
      this.take(call.id);
      call.reject(
        call.written
          ? new RpcError('UNAVAILABLE', `${why} after the request was sent; outcome unknown`, { notExecuted: false, retryable: true })
          : new RpcError('UNAVAILABLE', `${why} before the request was sent`, { notExecuted: true, retryable: true }),
      );
    }
    this.queue = [];
    this.queueHead = 0;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.sawTraffic = true;
    if (!isBinary) {
      this.fault({ code: 'TEXT_FRAME', message: 'text message ignored; frames are binary', peer: this.url });
      return;
    }
    if (data.length > this.maxFrameBytes) {
      const header = peekHeader(data);
      this.fault({
        code: 'PAYLOAD_TOO_LARGE',
        message: `frame of ${data.length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`,
        peer: this.url,
        detail: { id: header?.id, type: header?.type, bytes: data.length },
      });
      if (header !== undefined && (header.type === FrameType.RESPONSE || header.type === FrameType.ERROR)) {
        this.take(header.id)?.reject(new RpcError(
          'PAYLOAD_TOO_LARGE',
          `response of ${data.length} bytes exceeds this client's maxFrameBytes ${this.maxFrameBytes}`,
          { notExecuted: false, retryable: false },
        ));
      }
      return;
    }
    let frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      const e = err as FrameError;
      this.fault({ code: e.reason === 'UNDECODABLE' ? 'UNDECODABLE_FRAME' : 'BAD_FRAME', message: e.message, peer: this.url, detail: { id: e.id } });
      if (e.id !== undefined && (e.type === FrameType.RESPONSE || e.type === FrameType.ERROR)) {
        this.take(e.id)?.reject(new RpcError('PROTOCOL_ERROR', `bad response frame: ${e.message}`, { notExecuted: false, retryable: false }));
      }
      return;
    }
    switch (frame[0]) {
      case FrameType.RESPONSE: {
        // Unknown ids are late answers to calls that already timed out or were cancelled.
        const call = this.take(frame[1]);
        if (call !== undefined) call.resolve({ result: frame[2], epoch: frame[3] });
        return;
      }
      case FrameType.ERROR: {
        const call = this.take(frame[1]);
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
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'client closing');
      else ws.terminate();
    });
    return this.closePromise;
  }
}
