import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidOptionError } from '../base/errors';
import { integerInRange, nonEmptyString } from '../base/options';

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
}

/** Where the operators' endpoints listen: on the RPC port (default), a port of their own, or nowhere. */
export type HaHttpOption = false | { readonly host?: string; readonly port?: number };

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
  async listen(option: { host?: string; port?: number }): Promise<string> {
    const host = nonEmptyString('http.host', option.host, '127.0.0.1');
    const port = integerInRange('http.port', option.port, 0, 65535, 0);
    const server = http.createServer(this.handle);
    server.on('clientError', (_e, socket) => socket.destroy());
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
  const o = value as { host?: unknown; port?: unknown };
  if (o.host !== undefined) nonEmptyString('http.host', o.host);
  if (o.port !== undefined) integerInRange('http.port', o.port, 0, 65535);
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
