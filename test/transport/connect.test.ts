import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { PROTOCOL_HEADER, RpcConnection, RpcError, RpcServer, TransportFault } from '../../lib/transport';
import { InvalidOptionError } from '../../lib/base/errors';
import { secretsEqual } from '../../lib';
import { expectRejection, startPair } from './helpers';

describe('transport connections', () => {
  it('refuses a peer with another major protocol version, with a clear error', async () => {
    const faults: TransportFault[] = [];
    const server = new RpcServer({ handlers: { echo: (p) => p }, onFault: (f) => faults.push(f) });
    const { url } = await server.listen();
    try {
      const old = new RpcConnection({ url, reconnect: false, protocolVersion: '1.0' });
      const err = await expectRejection(old.connect());
      expect(err).to.include({ code: 'PROTOCOL_ERROR', notExecuted: true });
      expect(err.message).to.match(/major version mismatch.*2\.0.*1\.0/);
      expect(old.state).to.equal('down');
      await old.close();
      expect(faults.map((f) => f.code)).to.include('PROTOCOL_VERSION');
      // a compatible minor version is accepted
      const minor = new RpcConnection({ url, reconnect: false, protocolVersion: '2.7' });
      await minor.connect();
      expect((await minor.call('echo', 1)).result).to.equal(1);
      await minor.close();
      // a plain ws client without the header is refused too
      const bare = new WebSocket(url);
      bare.on('error', () => undefined);
      const status = await new Promise<number>((resolve) => bare.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
      bare.terminate();
      expect(status).to.equal(426);
    } finally {
      await server.close();
    }
    // and the client refuses a server speaking another major version
    const newer = new RpcServer({ protocolVersion: '3.1' });
    const { url: url2 } = await newer.listen();
    try {
      const c = new RpcConnection({ url: url2, reconnect: false });
      const err = await expectRejection(c.connect());
      expect(err).to.include({ code: 'PROTOCOL_ERROR' });
      await c.close();
    } finally {
      await newer.close();
    }
  });

  it('authentication hook: UNAUTHENTICATED without a good token; identity reaches ctx.peer', async () => {
    const server = new RpcServer({
      authenticate: async ({ token }) => (token === 's3cret' ? { user: 'alice' } : false),
      handlers: { whoami: (_p, ctx) => ctx.peer.identity },
    });
    const { url } = await server.listen();
    try {
      for (const token of [undefined, 'wrong']) {
        const c = new RpcConnection({ url, token, reconnect: { initialMs: 10 } });
        const err = await expectRejection(c.connect());
        expect(err).to.include({ code: 'UNAUTHENTICATED', notExecuted: true });
        expect(c.state).to.equal('down');
        await c.close();
      }
      const ok = new RpcConnection({ url, token: 's3cret', reconnect: false });
      await ok.connect();
      expect((await ok.call('whoami', null)).result).to.deep.equal({ user: 'alice' });
      await ok.close();
    } finally {
      await server.close();
    }
  });

  it('serves over TLS (wss)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkha-tls-'));
    try {
      const key = path.join(dir, 'key.pem');
      const cert = path.join(dir, 'cert.pem');
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ], { stdio: 'ignore' });
      const pem = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
      const server = new RpcServer({ tls: pem, handlers: { echo: (p) => p } });
      const { url } = await server.listen();
      try {
        expect(url).to.match(/^wss:\/\/127\.0\.0\.1:\d+$/);
        const c = new RpcConnection({ url, tls: { ca: pem.cert }, reconnect: false });
        await c.connect();
        expect((await c.call('echo', 'over tls')).result).to.equal('over tls');
        await c.close();
        // without trusting the self-signed cert, the connection fails for good: not retried as if transient
        const faults: TransportFault[] = [];
        const untrusting = new RpcConnection({ url, reconnect: { initialMs: 10, maxMs: 20 } });
        untrusting.on('fault', (f) => faults.push(f));
        const err = await expectRejection(untrusting.connect());
        expect(err).to.include({ code: 'UNAUTHENTICATED', retryable: false, notExecuted: true });
        expect(err.message).to.match(/certificate/);
        await new Promise((r) => setTimeout(r, 300));
        expect(faults.filter((f) => f.code === 'TLS_VERIFICATION_FAILED')).to.have.length(1);
        expect(faults.filter((f) => f.code === 'CONNECT_FAILED')).to.have.length(1); // no reconnect attempts
        expect(untrusting.refused).to.include({ code: 'UNAUTHENTICATED' });
        await untrusting.close();
        // Over maxConnections, the typed refusal travels over TLS too (it was plain bytes under it).
        const full = new RpcServer({ tls: pem, maxConnections: 1, handlers: { echo: (p) => p } });
        const at = await full.listen();
        const first = new RpcConnection({ url: at.url, tls: { ca: pem.cert }, reconnect: false });
        const second = new RpcConnection({ url: at.url, tls: { ca: pem.cert }, reconnect: false });
        try {
          await first.connect();
          const refusal = await expectRejection(second.connect());
          expect(refusal).to.include({ code: 'UNAVAILABLE', notExecuted: true });
          expect(refusal.message).to.match(/maxConnections/);
        } finally {
          await first.close();
          await second.close();
          await full.close({ graceMs: 0 });
        }
      } finally {
        await server.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses connections over maxConnections', async () => {
    const pair = await startPair({ maxConnections: 1 });
    try {
      const second = new RpcConnection({ url: pair.url, reconnect: false });
      const err = await expectRejection(second.connect());
      expect(err).to.include({ code: 'UNAVAILABLE', notExecuted: true });
      expect(err.message).to.match(/maxConnections/);
      await second.close();
      expect(pair.faults.map((f) => f.code)).to.include('MAX_CONNECTIONS');
      expect(pair.server.connections).to.equal(1);
    } finally {
      await pair.cleanup();
    }
  });

  it('reconnects with backoff when the server comes back on the same port', async () => {
    const server = new RpcServer({ handlers: { echo: (p) => p } });
    const { url, port } = await server.listen();
    const c = new RpcConnection({ url, reconnect: { initialMs: 20, maxMs: 100 } });
    const events: string[] = [];
    c.on('up', () => events.push('up'));
    c.on('down', () => events.push('down'));
    c.on('fault', (f: TransportFault) => events.push(f.code));
    try {
      await c.connect();
      await server.close({ graceMs: 0 });
      await new Promise((r) => setTimeout(r, 300));
      expect(events.slice(0, 2)).to.deep.equal(['up', 'down']);
      expect(events.filter((e) => e === 'CONNECT_FAILED').length).to.be.at.least(2);
      const again = new RpcServer({ port, handlers: { echo: (p) => p } });
      await again.listen();
      await new Promise<void>((resolve) => c.once('up', () => resolve()));
      expect((await c.call('echo', 'back')).result).to.equal('back');
      await c.close();
      await again.close();
    } finally {
      await c.close();
    }
  });

  it('reconnect options are validated at construction, naming the option', () => {
    expect(() => new RpcConnection({ url: 'ws://127.0.0.1:1', reconnect: { factor: 0.5 } })).to.throw(InvalidOptionError, /factor/);
    expect(() => new RpcConnection({ url: 'ws://127.0.0.1:1', reconnect: { jitter: 'bogus' as 'full' } })).to.throw(InvalidOptionError, /jitter/);
  });

  it('listen() on a port in use fails with a typed error', async () => {
    const first = new RpcServer({});
    const { port } = await first.listen();
    try {
      const second = new RpcServer({ port });
      const err = await expectRejection(second.listen());
      expect(err).to.be.instanceOf(RpcError);
      expect(err).to.include({ code: 'UNAVAILABLE' });
      expect(err.message).to.match(/EADDRINUSE/);
      await second.close();
    } finally {
      await first.close();
    }
  });

  it('validates options at construction', () => {
    expect(() => new RpcConnection({ url: 'http://x' })).to.throw(InvalidOptionError, /url/);
    expect(() => new RpcConnection({ url: 'ws://127.0.0.1:1', heartbeatMs: -1 })).to.throw(InvalidOptionError, /heartbeatMs/);
    expect(() => new RpcServer({ maxInFlight: 0 })).to.throw(InvalidOptionError, /maxInFlight/);
    expect(() => new RpcServer({ heartbeatMs: 100, heartbeatTimeoutMs: 50 })).to.throw(InvalidOptionError, /heartbeatTimeoutMs/);
    expect(() => new RpcServer({ port: 70000 })).to.throw(InvalidOptionError, /port/);
    expect(PROTOCOL_HEADER).to.equal('x-zk-ha-protocol');
  });

  it('secretsEqual compares tokens in constant time (hashes of equal length), exported from the HA API', () => {
    expect(secretsEqual('s3cret', 's3cret')).to.equal(true);
    expect(secretsEqual('s3cret', 's3creT')).to.equal(false);
    expect(secretsEqual('s3cret-but-longer', 's3cret')).to.equal(false);
    expect(secretsEqual(Buffer.from('k'), 'k')).to.equal(true);
    expect(secretsEqual(undefined, 's3cret')).to.equal(false);
    expect(secretsEqual({ toString: () => 's3cret' }, 's3cret')).to.equal(false);
  });
});
