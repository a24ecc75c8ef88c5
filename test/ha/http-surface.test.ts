import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { HttpSurface, type HaMemberStatus, validateHttpOption } from '../../lib/ha/http-surface';
import { InvalidOptionError } from '../../lib/base/errors';
import type { TransportFault } from '../../lib/transport';

const STATUS: HaMemberStatus = {
  service: 's', mode: 'primary-backup', member: 'm', role: 'primary', epoch: 1, primary: true, registered: true,
  session: { state: 'connected', id: '1' }, url: 'ws://127.0.0.1:1', pid: 1, uptimeMs: 1,
};

function open(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** ms until the server closes the socket (or `capMs`, then -1). */
function closedWithin(s: net.Socket, capMs: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(-1), capMs);
    s.on('error', () => undefined);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
    s.resume();
  });
}

describe('operators\' HTTP endpoints on a port of their own', () => {
  let surface: HttpSurface;
  let port: number;
  const faults: TransportFault[] = [];

  before(async () => {
    surface = new HttpSurface({ status: () => STATUS, onFault: (f) => faults.push(f) });
    const url = await surface.listen({ port: 0, maxConnections: 4, timeoutMs: 300 });
    port = Number(new URL(url).port);
  });
  after(() => surface.close());

  it('answers once and closes: no keep-alive', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ port, host: '127.0.0.1', path: '/primary', agent: new http.Agent({ keepAlive: true }) }, resolve).on('error', reject);
    });
    res.resume();
    expect(res.statusCode).to.equal(200);
    expect(res.headers.connection).to.equal('close');
  });

  it('closes an idle connection and a trickled request at timeoutMs, reported (they were held 90 s / 300 s)', async () => {
    const idle = await open(port);
    const trickle = await open(port);
    trickle.write('POST /primary HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n');
    const drip = setInterval(() => trickle.write('X-A: b\r\n'), 50);
    try {
      const [a, b] = await Promise.all([closedWithin(idle, 5000), closedWithin(trickle, 5000)]);
      expect(a).to.be.within(0, 3000);
      expect(b).to.be.within(0, 3000);
    } finally {
      clearInterval(drip);
    }
    expect(faults.map((f) => f.code)).to.include('HANDSHAKE_TIMEOUT');
  });

  it('holds at most maxConnections: the next connection is dropped at accept, reported', async () => {
    // A surface of its own whose connections outlive the test (the shared one closes them at 300 ms).
    const dropped: TransportFault[] = [];
    const capped = new HttpSurface({ status: () => STATUS, onFault: (f) => dropped.push(f) });
    const cappedPort = Number(new URL(await capped.listen({ port: 0, maxConnections: 4, timeoutMs: 60_000 })).port);
    const held = await Promise.all([0, 1, 2, 3].map(() => open(cappedPort)));
    try {
      await new Promise((r) => setTimeout(r, 30));
      const extra = await open(cappedPort).catch(() => undefined);
      if (extra) expect(await closedWithin(extra, 5000)).to.be.at.least(0);
      expect(dropped.map((f) => f.code)).to.include('MAX_CONNECTIONS');
      for (const s of held) expect(s.destroyed).to.equal(false);
    } finally {
      for (const s of held) s.destroy();
      await capped.close();
    }
  });

  it('answers garbage 400 and reports it', async () => {
    const s = await open(port);
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.write('\x00\x01 not http\r\n\r\n');
    await closedWithin(s, 2000);
    expect(answer).to.match(/^HTTP\/1\.1 400/);
    expect(faults.map((f) => f.code)).to.include('BAD_HTTP_REQUEST');
  });

  it('validates its options, naming them', () => {
    expect(() => validateHttpOption({ maxConnections: 0 })).to.throw(InvalidOptionError, /http\.maxConnections/);
    expect(() => validateHttpOption({ timeoutMs: 'x' })).to.throw(InvalidOptionError, /http\.timeoutMs/);
    expect(validateHttpOption({ port: 0, maxConnections: 10, timeoutMs: 1000 })).to.deep.equal({ port: 0, maxConnections: 10, timeoutMs: 1000 });
  });
});
