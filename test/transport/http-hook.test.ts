import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { RpcConnection, RpcServer, TransportFault } from '../../lib/transport';
import { OPERATOR_RESERVE } from '../../lib/transport/rpc-server';
import { expectRejection } from './helpers';
import { InvalidOptionError } from '../../lib/base/errors';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('transport: plain HTTP requests on the server port', () => {
  it('answers 426 by default', async () => {
    const server = new RpcServer({});
    const { port } = await server.listen();
    try {
      expect((await get(`http://127.0.0.1:${port}/healthz`)).status).to.equal(426);
    } finally {
      await server.close();
    }
  });

  it('hands non-upgrade requests to httpHandler while ws calls still work', async () => {
    const server = new RpcServer({
      handlers: { echo: (p) => p },
      httpHandler: (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`seen ${req.url}`);
      },
    });
    const { url, port } = await server.listen();
    try {
      expect(await get(`http://127.0.0.1:${port}/x?y=1`)).to.deep.equal({ status: 200, body: 'seen /x?y=1' });
      const c = new RpcConnection({ url, reconnect: false });
      await c.connect();
      expect((await c.call('echo', 7)).result).to.equal(7);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it('a throwing handler answers 500 and is reported, the server keeps serving', async () => {
    const faults: TransportFault[] = [];
    const server = new RpcServer({ httpHandler: () => { throw new Error('boom'); }, onFault: (f) => faults.push(f) });
    const { port } = await server.listen();
    try {
      expect((await get(`http://127.0.0.1:${port}/`)).status).to.equal(500);
      expect((await get(`http://127.0.0.1:${port}/`)).status).to.equal(500);
      expect(faults.map((f) => f.code)).to.include('HANDLER_ERROR');
    } finally {
      await server.close();
    }
  });

  it('at maxConnections, probes still get answers from a small reserve, which cannot upgrade; past the reserve, refused', async () => {
    const faults: TransportFault[] = [];
    const server = new RpcServer({
      handlers: { echo: (p) => p },
      maxConnections: 2,
      onFault: (f) => faults.push(f),
      httpHandler: (_req, res) => res.writeHead(200).end('alive'),
    });
    const { url, port } = await server.listen();
    const clients: RpcConnection[] = [];
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = new RpcConnection({ url, reconnect: false });
        await c.connect();
        clients.push(c);
      }
      // Full of clients: /healthz is answered all the same (it was 503 "at maxConnections").
      for (let i = 0; i < 3; i++) expect(await get(`http://127.0.0.1:${port}/healthz`)).to.deep.equal({ status: 200, body: 'alive' });
      // A client in the reserve is refused, typed, and it ran nothing.
      const third = new RpcConnection({ url, reconnect: false });
      const err = await expectRejection(third.connect());
      expect(err).to.include({ code: 'UNAVAILABLE', notExecuted: true });
      expect(err.message).to.match(/maxConnections/);
      await third.close();
      expect(server.connections).to.equal(2);
      // The reserve is bounded: idle sockets fill it, then the next probe is refused at accept.
      for (let i = 0; i < OPERATOR_RESERVE; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        await new Promise((resolve) => s.once('connect', resolve));
        held.push(s);
      }
      await new Promise((r) => setTimeout(r, 50));
      expect((await get(`http://127.0.0.1:${port}/healthz`)).status).to.equal(503);
      expect(faults.filter((f) => f.code === 'MAX_CONNECTIONS').length).to.be.greaterThan(0);
    } finally {
      for (const s of held) s.destroy();
      for (const c of clients) await c.close();
      await server.close();
    }
  });

  it('close() while listen() is binding: listen() rejects, nothing stays bound or pending', async () => {
    const server = new RpcServer({});
    const listening = server.listen();
    await server.close();
    const err = await expectRejection(listening);
    expect(err).to.include({ code: 'UNAVAILABLE' });
  });

  it('validates the option', () => {
    expect(() => new RpcServer({ httpHandler: 'no' as unknown as () => void })).to.throw(InvalidOptionError, /httpHandler/);
  });
});
