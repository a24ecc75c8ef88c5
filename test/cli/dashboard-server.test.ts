import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { DashboardCollector, DashboardState } from '../../bin/cli/dashboard/collector';
import { DashboardServer } from '../../bin/cli/dashboard/server';

/** A collector whose state is one service with a large error text (what a hostile record can make large). */
class StubCollector extends EventEmitter {
  big = 'x'.repeat(512 * 1024);
  state(): DashboardState {
    return { root: '/r', at: 0, zookeeper: 'connected', services: [{ service: 's', mode: null, members: [], primary: null, epoch: null, timeline: [], journal: [], error: this.big }] };
  }
}

function openEvents(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      resolve(s);
    });
    s.on('error', () => undefined);
  });
}

describe('dashboard server: live pages that do not read', () => {
  it('drops a page once 4 MiB wait for it, instead of buffering every later state (memory grew without bound)', async () => {
    const collector = new StubCollector();
    const server = new DashboardServer(collector as unknown as DashboardCollector, 1);
    const port = Number(new URL(await server.listen('127.0.0.1', 0)).port);
    const clients = (server as unknown as { clients: Set<unknown> }).clients;
    const stalled = await openEvents(port);
    stalled.pause(); // never reads
    try {
      for (let i = 0; i < 200 && clients.size > 0; i++) {
        collector.big = `${i}${collector.big.slice(1)}`;
        collector.emit('change');
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(clients.size).to.equal(0);
    } finally {
      stalled.destroy();
      await server.close();
    }
  });

  it('serves at most 64 live pages; the next is told to come back later', async () => {
    const collector = new StubCollector();
    collector.big = 'small';
    const server = new DashboardServer(collector as unknown as DashboardCollector);
    const port = Number(new URL(await server.listen('127.0.0.1', 0)).port);
    const pages = await Promise.all(Array.from({ length: 64 }, () => openEvents(port)));
    try {
      await new Promise((r) => setTimeout(r, 100));
      const status = await new Promise<number>((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}/events`, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
      });
      expect(status).to.equal(503);
    } finally {
      for (const p of pages) p.destroy();
      await server.close();
    }
  });
});
