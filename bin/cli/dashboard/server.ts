import { monotonicMs } from '../../../lib/base/clock';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { DashboardCollector } from './collector';
import { answerBadHttpRequest } from '../../../lib/transport/bad-http-request';
import { DASHBOARD_HTML } from './page';

/**
 * Serves the dashboard: GET / (the page), GET /state (JSON), GET /events (Server-Sent Events: one
 * "state" event at once and after every change, at most every `minIntervalMs`). Loopback by
 * default: the page shows the cluster's layout to whoever can reach it.
 */
export class DashboardServer {
  private readonly server: http.Server;
  private readonly clients = new Set<ServerResponse>();
  private pending: NodeJS.Timeout | undefined;
  private lastSent = Number.NEGATIVE_INFINITY;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(private readonly collector: DashboardCollector, private readonly minIntervalMs = 250, private readonly allowedHosts: readonly string[] = []) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    // What Node answers itself without a listener (400, or 431 for oversized headers), then closed.
    this.server.on('clientError', (e: Error & { code?: string }, socket) => void answerBadHttpRequest(e, socket));
    collector.on('change', () => this.schedule());
  }

  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    // A comment line now and then keeps proxies from closing an idle stream.
    this.keepAlive = setInterval(() => this.broadcast(': keep-alive\n\n'), 15000);
    const hostPart = host.includes(':') ? `[${host}]` : host;
    return `http://${hostPart}:${(this.server.address() as AddressInfo).port}/`;
  }

  async close(): Promise<void> {
    if (this.pending) clearTimeout(this.pending);
    if (this.keepAlive) clearInterval(this.keepAlive);
    for (const c of this.clients) c.end();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    // DNS rebinding: a page of evil.example whose name now resolves to this loopback address would
    // be same-origin with the dashboard and could read the cluster's layout. Its requests carry
    // its own name as Host (and Origin): only addresses, localhost and --allowed-host names pass.
    const origin = req.headers.origin;
    const originOk = origin === undefined || ((h) => h !== undefined && this.hostAllowed(h))(originHost(origin));
    if (!this.hostAllowed(req.headers.host) || !originOk) {
      res.writeHead(403, { ...common, 'content-type': 'text/plain; charset=utf-8' });
      res.end('forbidden: unknown Host or Origin (zk-ha dashboard --allowed-host <name> to serve a name)\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...common, allow: 'GET, HEAD' });
      res.end();
      return;
    }
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8', 'x-frame-options': 'DENY' });
      res.end(req.method === 'HEAD' ? undefined : DASHBOARD_HTML);
    } else if (path === '/state') {
      res.writeHead(200, { ...common, 'content-type': 'application/json; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(this.collector.state()));
    } else if (path === '/events') {
      if (this.clients.size >= MAX_EVENT_CLIENTS) {
        res.writeHead(503, { ...common, 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
        res.end(`too many live pages (${MAX_EVENT_CLIENTS})\n`);
        return;
      }
      res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
      res.write('retry: 1000\n\n');
      this.clients.add(res);
      res.on('close', () => this.clients.delete(res));
      res.write(this.event());
    } else {
      res.writeHead(404, { ...common, 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    }
  }

  private event(): string {
    // JSON has no raw newlines, so one data line carries the whole state.
    return `event: state\ndata: ${JSON.stringify(this.collector.state())}\n\n`;
  }

  private schedule(): void {
    if (this.pending) return;
    const wait = Math.max(0, this.lastSent + this.minIntervalMs - monotonicMs());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.lastSent = monotonicMs();
      if (this.clients.size === 0) return;
      this.broadcast(this.event());
    }, wait);
  }

  /**
   * Writes to every live page. A page that does not read (a stalled tab, a hostile client) is
   * dropped once MAX_UNREAD_BYTES wait for it, instead of buffering every later state for it.
   */
  private broadcast(text: string): void {
    for (const c of this.clients) {
      if (c.writableLength > MAX_UNREAD_BYTES) {
        this.clients.delete(c);
        c.destroy();
        continue;
      }
      c.write(text);
    }
  }

  /** A Host (or Origin's host) this dashboard answers: an IP address, localhost, or an allowed name. */
  private hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return true; // HTTP/1.0 without Host: no browser sends that
    const name = hostName(host);
    if (name === undefined) return false;
    return isIP(name) !== 0 || name === 'localhost' || this.allowedHosts.includes(name);
  }
}

/** At most this many /events streams at once. */
const MAX_EVENT_CLIENTS = 64;
/** Unread bytes after which a live page is dropped (it reconnects when it reads again). */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

/** The lower-cased name of a Host header value ("host", "host:port", "[v6]:port"), undefined when malformed. */
function hostName(host: string): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(:\d{1,5})?$/.exec(host.trim());
  if (!m) return undefined;
  return m[1]!.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
