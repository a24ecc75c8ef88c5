import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TransportFault } from '../transport';
import { answerBadHttpRequest } from '../transport/bad-http-request';
import { InvalidOptionError } from '../base/errors';
import { integerInRange, knownKeys, nonEmptyString } from '../base/options';

/** What a member says about itself over HTTP (and what `HaServer.status()` returns). */
export interface HaMemberStatus {
  readonly service: string;
  readonly mode: 'primary-backup' | 'redundant';
  readonly member: string;
  readonly role: string;
  /** The epoch while primary. */
  readonly epoch: number | undefined;
  /** True while this member is the primary and its lease holds (HaServer.isPrimary()). */
  readonly primary: boolean;
  /** Its member node is in ZooKeeper. */
  readonly registered: boolean;
  readonly session: { readonly state: string; readonly id: string };
  readonly url: string | undefined;
  readonly pid: number;
  readonly uptimeMs: number;
}

export interface HttpSurfaceSource {
  status(): HaMemberStatus;
  /** The Prometheus text behind /metrics (HaMetrics.exposition); undefined = 404. */
  readonly metrics?: () => Promise<{ contentType: string; text: string }> | undefined;
  /** Bad requests and refused connections on a listener of its own (the RPC port reports its own). */
  readonly onFault?: (fault: TransportFault) => void;
}

/**
 * Where the operators' endpoints listen: on the RPC port (default), a port of their own, or
 * nowhere. On a port of their own: `maxConnections` open at a time (default 64; more are
 * dropped at accept) and every connection closed `timeoutMs` after it opened (default 10 000):
 * one request each, answered at once, so neither an idle nor a trickling peer holds a socket.
 */
export type HaHttpOption = false | {
  readonly host?: string;
  readonly port?: number;
  readonly maxConnections?: number;
  readonly timeoutMs?: number;
};

const DEFAULT_HTTP_MAX_CONNECTIONS = 64;
const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

const SERVING_ROLES = new Set(['primary', 'backup', 'member']);

/** 200 while the process serves (not stopping or stopped). */
export function healthy(s: HaMemberStatus): boolean {
  return s.role !== 'stopping' && s.role !== 'stopped';
}

/**
 * 200 when the member is registered, its session alive (a suspended session still owns its node),
 * and it can serve in its role: a backup answers NOT_PRIMARY with a hint and takes over when its
 * turn comes; a member whose role is primary must hold its lease.
 */
export function ready(s: HaMemberStatus): boolean {
  if (!SERVING_ROLES.has(s.role) || !s.registered) return false;
  if (s.session.state !== 'connected' && s.session.state !== 'suspended') return false;
  return s.role !== 'primary' || s.primary;
}

const ENDPOINTS = ['/healthz', '/readyz', '/primary', '/metrics'];

/**
 * The operators' HTTP endpoints of one member: /healthz, /readyz, /primary (200 only on the
 * lease-holding primary: HAProxy's httpchk and readiness probes in primary/backup mode) and
 * /metrics (Prometheus text). Every answer is computed at request time, never cached, and
 * marked no-store so that no proxy serves a stale "primary".
 */
export class HttpSurface {
  private server: http.Server | undefined;

  constructor(private readonly source: HttpSurfaceSource) {}

  /** The request handler (for RpcServer's httpHandler or a listener of its own). */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error: 'method not allowed', allow: 'GET, HEAD' }, req.method === 'HEAD', { allow: 'GET, HEAD' });
      return;
    }
    const head = req.method === 'HEAD';
    if (path === '/metrics') {
      this.metrics(res, head);
      return;
    }
    const status = this.source.status();
    switch (path) {
      case '/healthz':
        send(res, healthy(status) ? 200 : 503, status, head);
        return;
      case '/readyz':
        send(res, ready(status) ? 200 : 503, status, head);
        return;
      case '/primary':
        send(res, status.primary ? 200 : 503, status, head);
        return;
      default:
        send(res, 404, { error: `no such endpoint ${JSON.stringify(path)}`, endpoints: ENDPOINTS }, head);
    }
  };

  private metrics(res: ServerResponse, head: boolean): void {
    const exposition = this.source.metrics?.();
    if (exposition === undefined) {
      send(res, 404, { error: 'metrics are not configured (HaServerOptions.metrics with a prom-client Registry)' }, head);
      return;
    }
    exposition.then(
      ({ contentType, text }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(head ? undefined : text);
      },
      (error: unknown) => send(res, 500, { error: `metrics: ${String((error as Error)?.message ?? error)}` }, head),
    );
  }

  /** Serves the endpoints on a listener of their own; resolves with its base URL. */
  async listen(option: Exclude<HaHttpOption, false>): Promise<string> {
    const host = nonEmptyString('http.host', option.host, '127.0.0.1');
    const port = integerInRange('http.port', option.port, 0, 65535, 0);
    const maxConnections = integerInRange('http.maxConnections', option.maxConnections, 1, 100_000, DEFAULT_HTTP_MAX_CONNECTIONS);
    const timeoutMs = integerInRange('http.timeoutMs', option.timeoutMs, 100, 600_000, DEFAULT_HTTP_TIMEOUT_MS);
    const fault = (f: TransportFault): void => this.source.onFault?.(f);
    // One request per connection, as on the RPC port: an answer closes it.
    const server = http.createServer((req, res) => {
      res.shouldKeepAlive = false;
      this.handle(req, res);
    });
    server.maxConnections = maxConnections;
    server.headersTimeout = timeoutMs;
    server.requestTimeout = timeoutMs;
    server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
      fault({ code: 'MAX_CONNECTIONS', message: `operators' HTTP port: refused, ${maxConnections} connections open (http.maxConnections)`, peer: data ? `${data.remoteAddress}:${data.remotePort}` : undefined });
    });
    server.on('connection', (socket: Socket) => {
      socket.on('error', () => socket.destroy());
      // Node checks its request timeouts every 30 s and not at all between requests: every
      // connection gets its own deadline instead.
      const timer = setTimeout(() => {
        fault({ code: 'HANDSHAKE_TIMEOUT', message: `operators' HTTP port: connection still open after ${timeoutMs} ms (http.timeoutMs): closed`, peer: `${socket.remoteAddress}:${socket.remotePort}` });
        socket.destroy();
      }, timeoutMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    });
    server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      const bad = answerBadHttpRequest(err, socket, "operators' HTTP port: ");
      if (bad) fault(bad);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    return `http://${hostPart}:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

/** Validates HaServerOptions.http. */
export function validateHttpOption(value: unknown): HaHttpOption | undefined {
  if (value === undefined || value === false) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError('http', 'must be false or an object { host?, port? }');
  }
  const o = value as { host?: unknown; port?: unknown; maxConnections?: unknown; timeoutMs?: unknown };
  knownKeys('http', o, ['host', 'port', 'maxConnections', 'timeoutMs']);
  if (o.host !== undefined) nonEmptyString('http.host', o.host);
  if (o.port !== undefined) integerInRange('http.port', o.port, 0, 65535);
  if (o.maxConnections !== undefined) integerInRange('http.maxConnections', o.maxConnections, 1, 100_000);
  if (o.timeoutMs !== undefined) integerInRange('http.timeoutMs', o.timeoutMs, 100, 600_000);
  return o as HaHttpOption;
}

function send(res: ServerResponse, status: number, body: object, head: boolean, extra: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(head ? undefined : text);
}
