import { monotonicMs } from '../../../lib/base/clock';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DashboardCollector } from './collector';
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

  constructor(private readonly collector: DashboardCollector, private readonly minIntervalMs = 250) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    // What Node answers itself without a listener (400, or 431 for oversized headers), then closed.
    this.server.on('clientError', (e: Error & { code?: string }, socket) => {
      if (!socket.writable || e.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      socket.end(`HTTP/1.1 ${e.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nConnection: close\r\n\r\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
    });
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
    this.keepAlive = setInterval(() => { for (const c of this.clients) c.write(': keep-alive\n\n'); }, 15000);
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
      const e = this.event();
      for (const c of this.clients) c.write(e);
    }, wait);
  }
}
