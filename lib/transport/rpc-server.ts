import { EventEmitter } from 'node:events';
import http, { IncomingMessage, STATUS_CODES } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { InvalidOptionError } from '../base/errors';
import { integerInRange, nonEmptyString } from '../base/options';
import { monotonicMs } from '../base/clock';
import { answerBadHttpRequest } from './bad-http-request';
import { HandshakeGuard, peerKey } from './handshake-guard';
import { InFlightBudget } from './in-flight-budget';
import { livenessTickMs } from './limits';
import { headerSafe, incompatibility, PROTOCOL_HEADER, PROTOCOL_VERSION, REFUSAL_CODE_HEADER, REFUSAL_MESSAGE_HEADER } from './protocol';
import { RpcError, RpcErrorCode } from './rpc-error';
import type { PeerInfo } from './server-call';
import { Handler, ServerSession, SessionConfig } from './server-session';
import { RpcServerOptions, ServerLimits, serverLimits } from './server-options';
import type { TransportFault } from './transport-fault';

export type { CallContext, PeerInfo } from './server-call';
export type { AdmitCall, AdmitDecision, AdmitHold, AdmitHook, Handler } from './server-session';
export type { AuthenticateRequest, RpcServerOptions, ServerLimits } from './server-options';

/**
 * The ws RPC server: a method registry, limits, heartbeats, authentication and graceful close.
 * Events: 'fault' (TransportFault), 'connection' (PeerInfo), 'disconnection' (PeerInfo).
 */
export interface RpcServerEvents {
  fault: [fault: TransportFault];
  connection: [peer: PeerInfo];
  disconnection: [peer: PeerInfo];
}

/**
 * Connections accepted past maxConnections for plain HTTP requests to the operators' endpoints
 * (httpHandler): each answered and closed within the handshake timeout, none may upgrade.
 */
export const OPERATOR_RESERVE = 8;

export class RpcServer extends EventEmitter<RpcServerEvents> {
  readonly limits: ServerLimits;
  /** What every session shares (the handler table stays live: `register` adds to it). */
  private readonly sessionConfig: SessionConfig;
  private readonly budget: InFlightBudget;
  private readonly protocolVersion: string;
  private readonly tls: RpcServerOptions['tls'];
  private readonly authenticate: RpcServerOptions['authenticate'];
  private readonly onFault: RpcServerOptions['onFault'];
  private readonly httpHandler: RpcServerOptions['httpHandler'];
  private readonly handlers = new Map<string, Handler>();
  private readonly sessions = new Set<ServerSession>();
  private httpServer: http.Server | https.Server | undefined;
  private wss: WebSocketServer | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly handshakes: HandshakeGuard;
  /** TLS connections over maxConnections, waiting for their TLS handshake to be refused (peer keys). */
  private readonly refusing = new Set<string>();
  /** Connections accepted past maxConnections for the operators' plain HTTP only (peer keys). */
  private readonly operatorReserve = new Set<string>();
  /** A listen() binding its port: close() waits for it. */
  private binding: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;

  constructor(opts: RpcServerOptions) {
    super();
    if (typeof opts !== 'object' || opts === null) throw new InvalidOptionError('options', 'must be an object');
    this.limits = serverLimits(opts);
    this.handshakes = new HandshakeGuard(this.limits.handshakeTimeoutMs, (peer, http) => this.fault({
      code: 'HANDSHAKE_TIMEOUT',
      message: http
        ? `HTTP request not completed and answered within ${this.limits.handshakeTimeoutMs} ms; connection closed`
        : `no complete WebSocket upgrade within ${this.limits.handshakeTimeoutMs} ms; connection closed`,
      peer,
    }));
    this.protocolVersion = nonEmptyString('protocolVersion', opts.protocolVersion, PROTOCOL_VERSION);
    if (opts.tls !== undefined) {
      if (typeof opts.tls !== 'object' || opts.tls === null || opts.tls.key === undefined || opts.tls.cert === undefined) {
        throw new InvalidOptionError('tls', 'must be an object with key and cert');
      }
    }
    this.tls = opts.tls;
    for (const [name, fn] of [['authenticate', opts.authenticate], ['admit', opts.admit], ['onFault', opts.onFault], ['httpHandler', opts.httpHandler]] as const) {
      if (fn !== undefined && typeof fn !== 'function') throw new InvalidOptionError(name, 'must be a function');
    }
    this.authenticate = opts.authenticate;
    this.sessionConfig = { limits: this.limits, handlers: this.handlers, admit: opts.admit };
    this.budget = new InFlightBudget(this.limits.maxInFlight, (now) => this.sweep(now));
    this.onFault = opts.onFault;
    this.httpHandler = opts.httpHandler;
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
    return this.budget.inFlight;
  }

  /** Resolves once no call is in flight, or after `waitMs` (see InFlightBudget.idle). */
  idle(waitMs: number): Promise<void> {
    return this.budget.idle(waitMs);
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
    return this.budget.closing;
  }

  async listen(): Promise<{ url: string; port: number }> {
    if (this.httpServer !== undefined) throw new RpcError('INTERNAL', 'listen() was already called');
    if (this.closing) throw new RpcError('UNAVAILABLE', 'server is closed');
    const server = this.tls
      ? https.createServer({ key: this.tls.key, cert: this.tls.cert, ca: this.tls.ca })
      : http.createServer();
    this.httpServer = server;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.hardMaxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      skipUTF8Validation: true,
    });
    this.wss.on('headers', (headers: string[]) => headers.push(`${PROTOCOL_HEADER}: ${this.protocolVersion}`));
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    // Over TLS a refusal must wait for the TLS handshake: plain bytes under it reach nobody.
    if (this.tls) server.on('secureConnection', (socket: Socket) => this.onSecureConnection(socket));
    server.on('request', (req: IncomingMessage, res: http.ServerResponse) => {
      // One request per connection, answered within the handshake timeout (HandshakeGuard).
      this.handshakes.requestSeen(peerKey(req.socket));
      res.shouldKeepAlive = false;
      this.onHttpRequest(req, res);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onUpgrade(req, socket, head));
    server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => this.onClientError(err, socket));
    // CONNECT (a proxy tunnel) is nothing this port offers: a typed refusal, not a silent close.
    server.on('connect', (_req: IncomingMessage, socket: Duplex) => this.refuse(socket, 405, 'PROTOCOL_ERROR', 'CONNECT is not supported: zk-ha rpc endpoint'));
    server.on('tlsClientError', (err: Error) => this.fault({ code: 'SOCKET_ERROR', message: `TLS: ${err.message}` }));
    const bound = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.limits.port, this.limits.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // close() waits for a listen in flight (closing a server not bound yet would leave this one
    // pending for ever: Node never calls the listen callback then).
    this.binding = bound.catch(() => undefined);
    try {
      await bound;
    } catch (err) {
      this.httpServer = undefined;
      throw new RpcError('UNAVAILABLE', `cannot listen on ${this.limits.host}:${this.limits.port}: ${(err as Error).message}`, { cause: err });
    } finally {
      this.binding = undefined;
    }
    // close() came while binding: it closes the server once bound; this listen() fails.
    if (this.closing) throw new RpcError('UNAVAILABLE', 'server is closed');
    server.on('error', (err: Error) => this.fault({ code: 'SOCKET_ERROR', message: err.message }));
    this.heartbeatTimer = setInterval(() => {
      const now = monotonicMs();
      for (const s of this.sessions) s.core.heartbeat(now);
    }, livenessTickMs(this.limits));
    this.heartbeatTimer.unref();
    const port = (server.address() as AddressInfo).port;
    const hostPart = this.limits.host.includes(':') ? `[${this.limits.host}]` : this.limits.host;
    return { url: `${this.tls ? 'wss' : 'ws'}://${hostPart}:${port}`, port };
  }

  /**
   * Every TCP connection counts toward maxConnections from the moment it is accepted, so that
   * sockets that never finish their upgrade cannot exhaust file descriptors uncounted.
   */
  private onConnection(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    const open = this.sessions.size + this.handshakes.size;
    if (open >= this.limits.maxConnections && this.httpHandler !== undefined && this.operatorReserve.size < OPERATOR_RESERVE) {
      // A few connections past the cap for the operators' plain HTTP (liveness and readiness
      // probes, HAProxy's checks, scrapes): a server full of clients still answers /healthz, so
      // that it is not restarted or marked down for being busy. Such a connection may not upgrade.
      const key = peerKey(socket);
      this.operatorReserve.add(key);
      socket.once('close', () => this.operatorReserve.delete(key));
      this.handshakes.track(socket);
      return;
    }
    if (open >= this.limits.maxConnections) {
      this.fault({ code: 'MAX_CONNECTIONS', message: `refused: ${open} connections open or opening (maxConnections)`, peer: peerKey(socket) });
      if (!this.tls) {
        // Answered at once, before any request is read: the client's upgrade gets a typed refusal.
        this.refuse(socket, 503, 'UNAVAILABLE', this.atMaxConnections);
        return;
      }
      // TLS: answered once the TLS handshake is done (onSecureConnection), within the handshake
      // timeout; at most max(16, maxConnections) of them at a time, beyond that closed unanswered.
      if (this.refusing.size >= Math.max(16, this.limits.maxConnections)) {
        socket.destroy();
        return;
      }
      const key = peerKey(socket);
      this.refusing.add(key);
      const timer = setTimeout(() => socket.destroy(), this.limits.handshakeTimeoutMs);
      timer.unref();
      socket.once('close', () => {
        clearTimeout(timer);
        this.refusing.delete(key);
      });
      return;
    }
    this.handshakes.track(socket);
  }

  private get atMaxConnections(): string {
    return `server is at maxConnections (${this.limits.maxConnections})`;
  }

  /** A TLS connection refused at accept (over maxConnections) gets its typed refusal over TLS. */
  private onSecureConnection(socket: Socket): void {
    if (this.refusing.has(peerKey(socket))) this.refuse(socket, 503, 'UNAVAILABLE', this.atMaxConnections);
  }

  /** A request that is not HTTP: answered and closed (bad-http-request.ts), and reported. */
  private onClientError(err: Error & { code?: string }, socket: Duplex): void {
    const fault = answerBadHttpRequest(err, socket);
    if (fault) this.fault(fault);
  }

  /** Requests that are not WebSocket upgrades. */
  private onHttpRequest(req: IncomingMessage, res: http.ServerResponse): void {
    if (this.httpHandler !== undefined) {
      try {
        this.httpHandler(req, res);
      } catch (err) {
        this.fault({ code: 'HANDLER_ERROR', message: `httpHandler threw: ${String((err as Error)?.message ?? err)}` });
        if (res.headersSent) res.destroy();
        else {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('internal error\n');
        }
      }
      return;
    }
    res.writeHead(426, { 'content-type': 'text/plain', [PROTOCOL_HEADER]: this.protocolVersion });
    res.end('zk-ha rpc endpoint: WebSocket upgrade required\n');
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const address = req.socket.remoteAddress ?? '';
    const port = req.socket.remotePort ?? 0;
    const peerName = `${address}:${port}`;
    if (!this.handshakes.has(peerName)) {
      // Refused at accept (over maxConnections: its answer is on the way) or timed out (closed).
      if (!socket.writableEnded) socket.destroy();
      return;
    }
    if (this.operatorReserve.has(peerName)) {
      this.fault({ code: 'MAX_CONNECTIONS', message: 'refused: an upgrade on a connection of the operators\' reserve (the server is at maxConnections)', peer: peerName });
      this.refuse(socket, 503, 'UNAVAILABLE', this.atMaxConnections);
      return;
    }
    if (this.closing) {
      this.refuse(socket, 503, 'UNAVAILABLE', 'server is shutting down');
      return;
    }
    const why = incompatibility(this.protocolVersion, req.headers[PROTOCOL_HEADER]);
    if (why !== undefined) {
      this.fault({ code: 'PROTOCOL_VERSION', message: why, peer: peerName });
      this.refuse(socket, 426, 'PROTOCOL_ERROR', why);
      return;
    }
    let identity: unknown;
    {
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
      if (this.closing || socket.destroyed || !this.handshakes.has(peerName)) {
        this.refuse(socket, 503, 'UNAVAILABLE', 'server is shutting down');
        return;
      }
    }
    const wss = this.wss;
    if (wss === undefined) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const peer: PeerInfo = identity === undefined ? { address, port } : { address, port, identity };
      if (this.closing) {
        this.handshakes.forget(peerName);
        ws.close(1001, 'server closing');
        return;
      }
      const session = new ServerSession(this.sessionConfig, this.budget, ws, socket, peer);
      session.on('fault', (f) => this.fault(f));
      session.once('close', () => {
        if (this.sessions.delete(session)) this.emit('disconnection', peer);
      });
      this.sessions.add(session);
      this.handshakes.forget(peerName);
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
    const graceMs = integerInRange('graceMs', opts.graceMs, 0, 1e9, this.limits.graceMs);
    const idle = this.budget.close(graceMs);
    // A held call would wait out its hold; it never ran, so it can go elsewhere now.
    for (const s of this.sessions) s.refuseHeld();
    this.closePromise = this.doClose(idle);
    return this.closePromise;
  }

  private async doClose(idle: Promise<void>): Promise<void> {
    await this.binding;
    const server = this.httpServer;
    const httpClosed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await idle;
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
      this.handshakes.destroyAll();
      await httpClosed;
    }
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.budget.stop();
  }

  private sweep(now: number): number {
    let next = Infinity;
    for (const s of this.sessions) next = Math.min(next, s.sweep(now));
    return next;
  }

  private fault(f: TransportFault): void {
    try {
      this.onFault?.(f);
      if (this.listenerCount('fault') > 0) this.emit('fault', f);
    } catch {
      // A throwing fault listener must not break the server.
    }
  }
}
