import { expect } from 'chai';
import net from 'node:net';
import { RpcConnection, RpcServer, TransportFault } from '../../lib/transport';
import { expectRejection, until } from './helpers';

/** Raw TCP sockets that send half an upgrade request and then nothing. */
async function halfOpen(port: number, n: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    sockets.push(s);
  }
  return sockets;
}

describe('transport handshake limits', () => {
  it('half-open sockets count toward maxConnections and are closed after handshakeTimeoutMs', async () => {
    const faults: TransportFault[] = [];
    const server = new RpcServer({ maxConnections: 20, handshakeTimeoutMs: 400, handlers: { echo: (p) => p }, onFault: (f) => faults.push(f) });
    const { url, port } = await server.listen();
    const sockets = await halfOpen(port, 20);
    const closed = sockets.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    try {
      // the limit is reached by sockets that never finished their upgrade
      const refused = new RpcConnection({ url, reconnect: false });
      const err = await expectRejection(refused.connect());
      expect(err).to.include({ code: 'UNAVAILABLE', notExecuted: true });
      expect(err.message).to.match(/maxConnections/);
      await refused.close();
      expect(faults.map((f) => f.code)).to.include('MAX_CONNECTIONS');
      // then the server closes them by itself
      await Promise.all(closed);
      expect(faults.filter((f) => f.code === 'HANDSHAKE_TIMEOUT')).to.have.length(20);
      const ok = new RpcConnection({ url, reconnect: false });
      await ok.connect();
      expect((await ok.call('echo', 'in')).result).to.equal('in');
      await ok.close();
    } finally {
      for (const s of sockets) s.destroy();
      await server.close({ graceMs: 0 });
    }
  });

  it('a slow authenticate hook counts against the handshake timeout; plain HTTP requests are answered and not cut', async () => {
    const faults: TransportFault[] = [];
    const server = new RpcServer({
      handshakeTimeoutMs: 300,
      authenticate: () => new Promise((resolve) => setTimeout(() => resolve(true), 2000)),
      onFault: (f) => faults.push(f),
    });
    const { url, port } = await server.listen();
    try {
      const c = new RpcConnection({ url, reconnect: false });
      expect(await expectRejection(c.connect())).to.include({ code: 'UNAVAILABLE' });
      await c.close();
      expect(faults.map((f) => f.code)).to.include('HANDSHAKE_TIMEOUT');
      const status = await new Promise<number>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
        s.on('error', reject);
      });
      expect(status).to.equal(426);
      await until(() => server.connections === 0, 2000, 'no sessions');
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  for (const kind of ['a body trickled a byte at a time', 'a chunked body', 'a second request half sent'] as const) {
    it(`plain HTTP requests with ${kind} cannot hold connection slots: answered and closed at once`, async () => {
      const faults: TransportFault[] = [];
      const server = new RpcServer({ maxConnections: 5, handshakeTimeoutMs: 400, handlers: { echo: (p) => p }, onFault: (f) => faults.push(f) });
      const { url, port } = await server.listen();
      const sockets: net.Socket[] = [];
      const closed: Promise<void>[] = [];
      const drip = setInterval(() => { for (const s of sockets) if (!s.destroyed) s.write(kind === 'a chunked body' ? '1\r\nx\r\n' : 'x'); }, 50);
      try {
        for (let i = 0; i < 5; i++) {
          const s = net.connect(port, '127.0.0.1');
          s.on('error', () => undefined);
          s.on('data', () => undefined);
          closed.push(new Promise<void>((resolve) => s.once('close', () => resolve())));
          await new Promise<void>((resolve) => s.once('connect', () => resolve()));
          s.write(kind === 'a body trickled a byte at a time' ? 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n'
            : kind === 'a chunked body' ? 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
              : 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n');
          sockets.push(s);
        }
        // Before: each held its slot for Node's requestTimeout (300 s) and refused real clients meanwhile.
        await Promise.race([Promise.all(closed), new Promise((_, reject) => setTimeout(() => reject(new Error('attacker sockets still open after 2 s')), 2000))]);
        const c = new RpcConnection({ url, reconnect: false });
        await c.connect();
        expect((await c.call('echo', 'served')).result).to.equal('served');
        await c.close();
      } finally {
        clearInterval(drip);
        for (const s of sockets) s.destroy();
        await server.close({ graceMs: 0 });
      }
    });
  }

  it('bad HTTP gets the answer Node would give (400, 431 for huge headers, 405 for CONNECT) and a BAD_HTTP_REQUEST report, not a silent close', async () => {
    const faults: TransportFault[] = [];
    const server = new RpcServer({ handlers: { echo: (p) => p }, onFault: (f) => faults.push(f) });
    const { port } = await server.listen();
    const ask = (bytes: string): Promise<string> => new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString('latin1')));
      s.on('error', () => undefined);
      s.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
    });
    try {
      expect(await ask('\u0001\u0002 garbage\r\n\r\n')).to.equal('HTTP/1.1 400 Bad Request');
      expect(await ask(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`)).to.equal('HTTP/1.1 431 Request Header Fields Too Large');
      expect(await ask('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n')).to.equal('HTTP/1.1 400 Bad Request');
      expect(await ask('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')).to.equal('HTTP/1.1 405 Method Not Allowed');
      expect(faults.filter((f) => f.code === 'BAD_HTTP_REQUEST')).to.have.length(3);
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  it('a peer that floods pings and never reads the pongs is cut and reported (PING_FLOOD); a bystander is served', async () => {
    const faults: TransportFault[] = [];
    const server = new RpcServer({ handlers: { echo: (p) => p }, onFault: (f) => faults.push(f) });
    const { url, port } = await server.listen();
    const bystander = new RpcConnection({ url, reconnect: false });
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => undefined);
    const connected = new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    try {
      await bystander.connect();
      await connected;
      sock.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        + `Sec-WebSocket-Key: ${Buffer.alloc(16, 7).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nx-zk-ha-protocol: 2.0\r\n\r\n`);
      await new Promise<void>((resolve) => sock.once('data', () => resolve())); // 101 Switching Protocols
      sock.pause(); // never read again
      // Masked (zero key) ping frames with 125-byte payloads, 4096 per write.
      const ping = Buffer.concat([Buffer.from([0x89, 0x80 | 125, 0, 0, 0, 0]), Buffer.alloc(125, 1)]);
      const batch = Buffer.concat(Array.from({ length: 4096 }, () => ping));
      let closed = false;
      sock.once('close', () => (closed = true));
      const started = Date.now();
      while (!closed && Date.now() - started < 20000) {
        if (!sock.write(batch)) await Promise.race([new Promise((r) => sock.once('drain', r)), new Promise((r) => setTimeout(r, 200))]);
        expect((await bystander.call('echo', 'still here')).result).to.equal('still here');
      }
      await until(() => faults.some((f) => f.code === 'PING_FLOOD'), 5000, 'PING_FLOOD reported');
      expect(faults.filter((f) => f.code === 'PING_FLOOD')).to.have.length(1);
    } finally {
      sock.destroy();
      await bystander.close();
      await server.close({ graceMs: 0 });
    }
  });
});
