import { EventEmitter } from 'node:events';
import http, { IncomingMessage, STATUS_CODES } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { InvalidOptionError } from '../base/errors';
import { integerInRange, nonEmptyString, positiveNumber } from '../base/options';
import { monotonicMs } from '../base/clock';
import { DeadlineSweeper } from './deadline-sweeper';
import { DecodeLimitOptions, decodeLimits, defaultHardMaxFrameBytes, highWaterMarkOption, livenessLimits, LivenessOptions, livenessTickMs, maxFrameBytesOption, MiB } from './limits';
import { headerSafe, incompatibility, PROTOCOL_HEADER, PROTOCOL_VERSION, REFUSAL_CODE_HEADER, REFUSAL_MESSAGE_HEADER } from './protocol';
import { RpcError, RpcErrorCode } from './rpc-error';
import type { CallContext, PeerInfo } from './server-call';
import { AdmitDecision, AdmitHook, Handler, ServerSession, SessionHost } from './server-session';
import type { TransportFault } from './transport-fault';
import type { DecodeLimits } from './frame-scan';

export type { CallContext, PeerInfo } from './server-call';
export type { AdmitDecision, AdmitHook, Handler } from './server-session';

export interface AuthenticateRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The bearer token from `Authorization: Bearer <token>`, if any. */
  token?: string;
  address: string;
}

export interface RpcServerOptions extends LivenessOptions, DecodeLimitOptions {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  handlers?: Record<string, Handler>;
  /** A request or response over this size fails that call only, with PAYLOAD_TOO_LARGE. Default 4 MiB. */
  maxFrameBytes?: number;
  /** ws closes the socket on a frame over this size (memory guard). Default max(4 x maxFrameBytes, maxFrameBytes + 1 MiB). */
  hardMaxFrameBytes?: number;
  /** Default 1000. */
  maxInFlightPerConnection?: number;
  /** Default 10 000. */
  maxInFlight?: number;
  /** Default 10 000. */
  maxConnections?: number;
  /** For requests that carry no timeout. Default 30 000. */
  defaultDeadlineMs?: number;
  /**
   * Cap of every call's time on this server, whatever the caller asks: a call that never
   * settles gives its slot back after this. Default 300 000 (5 minutes).
   */
  maxDeadlineMs?: number;
  /** Default grace period of close(). Default 5000. */
  graceMs?: number;
  /** Stop reading from (so admit no new calls of) a peer whose unsent responses exceed this. Default 4 MiB. */
  highWaterMarkBytes?: number;
  /**
   * The per-connection memory bound of unsent responses: over it the connection is cut at once
   * (SLOW_CONSUMER fault; its calls in flight are aborted). Default max(32 MiB, 2 x (highWaterMarkBytes + maxFrameBytes)).
   */
  maxBufferedBytes?: number;
  /** A peer whose unsent responses stay over highWaterMarkBytes this long is cut (SLOW_CONSUMER). Default 30 000. */
  slowConsumerTimeoutMs?: number;
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
  /** Falsy -> UNAUTHENTICATED; a non-boolean truthy value becomes peer.identity. */
  authenticate?: (req: AuthenticateRequest) => boolean | unknown | Promise<boolean | unknown>;
  /**
   * Called per call right before the handler would run (after limits), synchronously at the
   * moment of dispatch. Return an RpcError to refuse (the handler never runs) or an AdmitDecision.
   */
  admit?: (call: { method: string; meta: Record<string, unknown>; peer: CallContext['peer'] }) => RpcError | AdmitDecision;
  onFault?: (fault: TransportFault) => void;
  /** For tests of version negotiation; normally left alone. */
  protocolVersion?: string;
}

/**
 * The ws RPC server: a method registry, limits, heartbeats, authentication and graceful close.
 * Events: 'fault' (TransportFault), 'connection' (PeerInfo), 'disconnection' (PeerInfo).
 */
export interface RpcServerEvents {
  fault: [fault: TransportFault];
  connection: [peer: PeerInfo];
  disconnection: [peer: PeerInfo];
}

export class RpcServer extends EventEmitter<RpcServerEvents> implements SessionHost {
  readonly host: string;
  readonly port: number;
  readonly maxFrameBytes: number;
  readonly hardMaxFrameBytes: number;
  readonly maxInFlightPerConnection: number;
  readonly maxInFlight: number;
  readonly maxConnections: number;
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly defaultDeadlineMs: number;
  readonly maxDeadlineMs: number;
  readonly graceMs: number;
  readonly highWaterMarkBytes: number;
  readonly decodeLimits: DecodeLimits;
  readonly maxBufferedBytes: number;
  readonly slowConsumerTimeoutMs: number;
  readonly admit: AdmitHook | undefined;
  private readonly protocolVersion: string;
  private readonly tls: RpcServerOptions['tls'];
  private readonly authenticate: RpcServerOptions['authenticate'];
  private readonly onFault: RpcServerOptions['onFault'];
  private readonly handlers = new Map<string, Handler>();
  private readonly sessions = new Set<ServerSession>();
  private readonly sweeper = new DeadlineSweeper((now) => this.sweep(now));
  private httpServer: http.Server | https.Server | undefined;
  private wss: WebSocketServer | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private inFlightCount = 0;
  private pendingUpgrades = 0;
  private closingFlag = false;
  private closePromise: Promise<void> | undefined;
  private idleWaiter: (() => void) | undefined;

  constructor(opts: RpcServerOptions) {
    super();
    if (typeof opts !== 'object' || opts === null) throw new InvalidOptionError('options', 'must be an object');
    this.host = nonEmptyString('host', opts.host, '127.0.0.1');
    this.port = integerInRange('port', opts.port, 0, 65535, 0);
    this.maxFrameBytes = maxFrameBytesOption(opts.maxFrameBytes);
    this.hardMaxFrameBytes = integerInRange(
      'hardMaxFrameBytes', opts.hardMaxFrameBytes, this.maxFrameBytes, 2048 * MiB, defaultHardMaxFrameBytes(this.maxFrameBytes),
    );
    this.maxInFlightPerConnection = integerInRange('maxInFlightPerConnection', opts.maxInFlightPerConnection, 1, 1e9, 1000);
    this.maxInFlight = integerInRange('maxInFlight', opts.maxInFlight, 1, 1e9, 10_000);
    this.maxConnections = integerInRange('maxConnections', opts.maxConnections, 1, 1e9, 10_000);
    ({ heartbeatMs: this.heartbeatMs, heartbeatTimeoutMs: this.heartbeatTimeoutMs } = livenessLimits(opts));
    this.maxDeadlineMs = positiveNumber('maxDeadlineMs', opts.maxDeadlineMs, 300_000);
    this.defaultDeadlineMs = positiveNumber('defaultDeadlineMs', opts.defaultDeadlineMs, Math.min(30_000, this.maxDeadlineMs));
    if (this.defaultDeadlineMs > this.maxDeadlineMs) throw new InvalidOptionError('defaultDeadlineMs', `must be <= maxDeadlineMs (${this.maxDeadlineMs})`);
    this.graceMs = integerInRange('graceMs', opts.graceMs, 0, 1e9, 5000);
    this.highWaterMarkBytes = highWaterMarkOption(opts.highWaterMarkBytes, 4 * MiB);
    this.decodeLimits = decodeLimits(opts);
    this.maxBufferedBytes = integerInRange(
      'maxBufferedBytes', opts.maxBufferedBytes, this.highWaterMarkBytes + this.maxFrameBytes, 1e12,
      Math.max(32 * MiB, 2 * (this.highWaterMarkBytes + this.maxFrameBytes)),
    );
    this.slowConsumerTimeoutMs = positiveNumber('slowConsumerTimeoutMs', opts.slowConsumerTimeoutMs, 30_000);
    this.protocolVersion = nonEmptyString('protocolVersion', opts.protocolVersion, PROTOCOL_VERSION);
    if (opts.tls !== undefined) {
      if (typeof opts.tls !== 'object' || opts.tls === null || opts.tls.key === undefined || opts.tls.cert === undefined) {
        throw new InvalidOptionError('tls', 'must be an object with key and cert');
      }
    }
    this.tls = opts.tls;
    for (const [name, fn] of [['authenticate', opts.authenticate], ['admit', opts.admit], ['onFault', opts.onFault]] as const) {
      if (fn !== undefined && typeof fn !== 'function') throw new InvalidOptionError(name, 'must be a function');
    }
    this.authenticate = opts.authenticate;
    this.admit = opts.admit;
    this.onFault = opts.onFault;
    if (opts.handlers !== undefined) {
      if (typeof opts.handlers !== 'object' || opts.handlers === null) throw new InvalidOptionError('handlers', 'must be an object');
      for (const [name, h] of Object.entries(opts.handlers)) this.register(name, h);
    }
  }

  register<P, R>(method: string, handler: Handler<P, R>): void {
    nonEmptyString('method', method);
    if (typeof handler !== 'function') throw new InvalidOptionError(`handlers.${method}`, 'must be a function');
    this.handlers.set(method, handler as Handler);
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** Bytes of responses written but not yet flushed to peers (what slow readers cost us). */
  get bufferedBytes(): number {
    let n = 0;
    for (const s of this.sessions) n += s.core.bufferedAmount;
    return n;
  }

  get closing(): boolean {
    return this.closingFlag;
  }

  async listen(): Promise<{ url: string; port: number }> {
    if (this.httpServer !== undefined) throw new RpcError('INTERNAL', 'listen() was already called');
    if (this.closingFlag) throw new RpcError('UNAVAILABLE', 'server is closed');
    const server = this.tls
      ? https.createServer({ key: this.tls.key, cert: this.tls.cert, ca: this.tls.ca })
      : http.createServer();
    this.httpServer = server;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.hardMaxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      skipUTF8Validation: true,
    });
    this.wss.on('headers', (headers: string[]) => headers.push(`${PROTOCOL_HEADER}: ${this.protocolVersion}`));
    server.on('request', (_req: IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(426, { 'content-type': 'text/plain', [PROTOCOL_HEADER]: this.protocolVersion });
      res.end('zk-ha rpc endpoint: WebSocket upgrade required\n');
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onUpgrade(req, socket, head));
    server.on('clientError', (_err: Error, socket: Duplex) => socket.destroy());
    server.on('tlsClientError', (err: Error) => this.fault({ code: 'SOCKET_ERROR', message: `TLS: ${err.message}` }));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.httpServer = undefined;
      throw new RpcError('UNAVAILABLE', `cannot listen on ${this.host}:${this.port}: ${(err as Error).message}`, { cause: err });
    }
    server.on('error', (err: Error) => this.fault({ code: 'SOCKET_ERROR', message: err.message }));
    this.heartbeatTimer = setInterval(() => {
      const now = monotonicMs();
      for (const s of this.sessions) s.core.heartbeat(now);
    }, livenessTickMs(this));
    this.heartbeatTimer.unref();
    const port = (server.address() as AddressInfo).port;
    const hostPart = this.host.includes(':') ? `[${this.host}]` : this.host;
    return { url: `${this.tls ? 'wss' : 'ws'}://${hostPart}:${port}`, port };
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const address = req.socket.remoteAddress ?? '';
    const port = req.socket.remotePort ?? 0;
    const peerName = `${address}:${port}`;
    if (this.closingFlag) {
      this.refuse(socket, 503, 'UNAVAILABLE', 'server is shutting down');
      return;
    }
    if (this.sessions.size + this.pendingUpgrades >= this.maxConnections) {
      this.fault({ code: 'MAX_CONNECTIONS', message: `refused: ${this.sessions.size} connections open (maxConnections)`, peer: peerName });
      this.refuse(socket, 503, 'UNAVAILABLE', `server is at maxConnections (${this.maxConnections})`);
      return;
    }
    const why = incompatibility(this.protocolVersion, req.headers[PROTOCOL_HEADER]);
    if (why !== undefined) {
      this.fault({ code: 'PROTOCOL_VERSION', message: why, peer: peerName });
      this.refuse(socket, 426, 'PROTOCOL_ERROR', why);
      return;
    }
    this.pendingUpgrades++;
    let identity: unknown;
    try {
      if (this.authenticate !== undefined) {
        const auth = req.headers.authorization;
        const m = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth) : null;
        let verdict: unknown;
        try {
          verdict = await this.authenticate({ headers: req.headers, token: m ? m[1] : undefined, address });
        } catch (err) {
          verdict = false;
          this.fault({ code: 'UNAUTHENTICATED', message: `authenticate hook threw: ${String((err as Error)?.message ?? err)}`, peer: peerName });
        }
        if (!verdict) {
          this.fault({ code: 'UNAUTHENTICATED', message: 'connection refused by the authenticate hook', peer: peerName });
          this.refuse(socket, 401, 'UNAUTHENTICATED', 'authentication failed');
          return;
        }
        if (verdict !== true) identity = verdict;
      }
      if (this.closingFlag || socket.destroyed) {
        this.refuse(socket, 503, 'UNAVAILABLE', 'server is shutting down');
        return;
      }
    } finally {
      this.pendingUpgrades--;
    }
    const wss = this.wss;
    if (wss === undefined) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const peer: PeerInfo = identity === undefined ? { address, port } : { address, port, identity };
      if (this.closingFlag) {
        ws.close(1001, 'server closing');
        return;
      }
      const session = new ServerSession(this, ws, socket, peer);
      this.sessions.add(session);
      this.emit('connection', peer);
    });
  }

  private refuse(socket: Duplex, status: number, code: RpcErrorCode, message: string): void {
    if (socket.destroyed) return;
    const body = `${message}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `${PROTOCOL_HEADER}: ${this.protocolVersion}\r\n` +
        `${REFUSAL_CODE_HEADER}: ${code}\r\n` +
        `${REFUSAL_MESSAGE_HEADER}: ${headerSafe(message)}\r\n\r\n` +
        body,
    );
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** Stop accepting; let in-flight calls finish within the grace period; then close everything. */
  close(opts: { graceMs?: number } = {}): Promise<void> {
    if (this.closePromise) return this.closePromise;
    const graceMs = integerInRange('graceMs', opts.graceMs, 0, 1e9, this.graceMs);
    this.closingFlag = true;
    this.closePromise = this.doClose(graceMs);
    return this.closePromise;
  }

  private async doClose(graceMs: number): Promise<void> {
    const server = this.httpServer;
    const httpClosed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (this.inFlightCount > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.idleWaiter = undefined;
    }
    const closing: Promise<void>[] = [];
    for (const s of this.sessions) {
      s.shutdown();
      closing.push(s.closed);
    }
    if (closing.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(closing),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000))),
      ]);
      clearTimeout(timer);
      for (const s of this.sessions) s.ws.terminate();
    }
    if (server) {
      server.closeAllConnections();
      await httpClosed;
    }
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.sweeper.stop();
  }

  // SessionHost

  handlerFor(method: string): Handler | undefined {
    return this.handlers.get(method);
  }

  tryAcquire(): boolean {
    if (this.inFlightCount >= this.maxInFlight) return false;
    this.inFlightCount++;
    return true;
  }

  release(): void {
    this.inFlightCount--;
    if (this.inFlightCount === 0 && this.idleWaiter) this.idleWaiter();
  }

  trackDeadline(deadline: number): void {
    this.sweeper.track(deadline);
  }

  private sweep(now: number): number {
    let next = Infinity;
    for (const s of this.sessions) next = Math.min(next, s.sweep(now));
    return next;
  }

  fault(f: TransportFault): void {
    try {
      this.onFault?.(f);
      if (this.listenerCount('fault') > 0) this.emit('fault', f);
    } catch {
      // A throwing fault listener must not break the server.
    }
  }

  sessionClosed(session: ServerSession): void {
    if (this.sessions.delete(session)) this.emit('disconnection', session.peer);
  }
}
