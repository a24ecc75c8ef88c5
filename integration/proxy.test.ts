import { expect } from 'chai';
import * as net from 'node:net';
import { TcpProxy } from './harness';
import { eventually, sleep } from './support/wait';

/** An echo server on loopback, and a client that records what it reads and how it ends. */
function startEcho(): Promise<{ server: net.Server; port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port, sockets })),
  );
}

interface Probe {
  socket: net.Socket;
  received: () => string;
  ended: () => boolean;
  closed: Promise<{ error?: string }>;
}

function connect(port: number): Promise<Probe> {
  return new Promise((resolve, reject) => {
    let data = '';
    let ended = false;
    let error: string | undefined;
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('end', () => (ended = true));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code;
      reject(e);
    });
    const closed = new Promise<{ error?: string }>((r) => socket.on('close', () => r({ error })));
    socket.once('connect', () => resolve({ socket, received: () => data, ended: () => ended, closed }));
  });
}

describe('TcpProxy', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: TcpProxy;
  const probes: Probe[] = [];

  async function open(): Promise<Probe> {
    const p = await connect(proxy.port);
    probes.push(p);
    return p;
  }

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: echo.port });
  });

  afterEach(async () => {
    for (const p of probes.splice(0)) p.socket.destroy();
    await proxy.close();
    for (const s of echo.sockets) s.destroy();
    await new Promise((resolve) => echo.server.close(resolve));
  });

  it('forwards bytes both ways and reports its address', async () => {
    expect(proxy.address).to.equal(`127.0.0.1:${proxy.port}`);
    const c = await open();
    c.socket.write('hello');
    await eventually('echo through the proxy', () => c.received() === 'hello');
  });

  it('blackhole() stops bytes without closing; heal() delivers again, on the same connection', async () => {
    const c = await open();
    c.socket.write('a');
    await eventually('first echo', () => c.received() === 'a');
    proxy.blackhole();
    c.socket.write('b');
    await sleep(300);
    expect(c.received()).to.equal('a');
    expect(c.ended()).to.equal(false);
    expect(c.socket.destroyed).to.equal(false);
    expect(echo.sockets.size).to.equal(1); // the server side is still open too

    // A connection made during the partition gets nothing either.
    const late = await open();
    late.socket.write('x');
    await sleep(200);
    expect(late.received()).to.equal('');

    proxy.heal();
    await eventually('held bytes arrive after heal', () => c.received() === 'ab');
    c.socket.write('c');
    await eventually('new bytes flow', () => c.received() === 'abc');
    await eventually('the late connection flows', () => late.received() === 'x');
  });

  it('delay(ms) holds every byte before passing it on, in order, on the same connection; delay(0) restores', async () => {
    const c = await open();
    c.socket.write('a');
    await eventually('first echo', () => c.received() === 'a');
    proxy.delay(400);
    c.socket.write('b');
    c.socket.write('c');
    await sleep(150);
    expect(c.received(), 'nothing yet: held both ways').to.equal('a');
    await eventually('held bytes arrive in order', () => c.received() === 'abc', 5000);
    expect(c.socket.destroyed).to.equal(false);
    proxy.delay(0);
    c.socket.write('d');
    await eventually('direct again', () => c.received() === 'abcd');
  });

  it('blackhole() hides a close from the other side until heal()', async () => {
    const c = await open();
    c.socket.write('a');
    await eventually('first echo', () => c.received() === 'a');
    proxy.blackhole();
    c.socket.end();
    await sleep(200);
    expect(echo.sockets.size).to.equal(1);
    proxy.heal();
    await eventually('the server sees the close after heal', () => echo.sockets.size === 0);
  });

  it('reset() destroys current connections; new ones still work', async () => {
    const c = await open();
    c.socket.write('a');
    await eventually('first echo', () => c.received() === 'a');
    c.socket.on('error', () => undefined);
    proxy.reset();
    const outcome = await c.closed;
    expect(outcome.error).to.equal('ECONNRESET');
    await eventually('the server side closed too', () => echo.sockets.size === 0);
    expect(proxy.connections).to.equal(0);
    const d = await open();
    d.socket.write('again');
    await eventually('a new connection forwards', () => d.received() === 'again');
  });

  it('refuse(true) refuses new connections but keeps existing ones; refuse(false) accepts again', async () => {
    const c = await open();
    proxy.refuse(true);
    const err = await connect(proxy.port).then(
      (p) => {
        p.socket.destroy();
        return undefined;
      },
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(err).to.equal('ECONNREFUSED');
    c.socket.write('still');
    await eventually('the existing connection still forwards', () => c.received() === 'still');
    proxy.refuse(false);
    let d: Probe | undefined;
    for (let i = 0; i < 50 && !d; i++) d = await open().catch(() => sleep(20).then(() => undefined));
    expect(d, 'a connection after refuse(false)').to.not.equal(undefined);
    d!.socket.write('ok');
    await eventually('forwards after refuse(false)', () => d!.received() === 'ok');
  });

  it('a dead target closes the client connection', async () => {
    const dead = await TcpProxy.start({ host: '127.0.0.1', port: echo.port });
    await new Promise((resolve) => {
      echo.server.close(resolve);
      for (const s of echo.sockets) s.destroy();
    });
    try {
      const c = await connect(dead.port);
      c.socket.on('error', () => undefined);
      await c.closed;
      expect(c.received()).to.equal('');
    } finally {
      await dead.close();
    }
    echo.server = net.createServer(); // afterEach closes a fresh, unbound server
  });

  it('close() is idempotent and frees the port', async () => {
    const port = proxy.port;
    await proxy.close();
    await proxy.close();
    const err = await connect(port).then(
      (p) => {
        p.socket.destroy();
        return undefined;
      },
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(err).to.equal('ECONNREFUSED');
  });
});
