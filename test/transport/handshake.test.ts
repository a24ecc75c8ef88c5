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
});
