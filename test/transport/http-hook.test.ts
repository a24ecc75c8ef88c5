import { expect } from 'chai';
import http from 'node:http';
import { RpcConnection, RpcServer, TransportFault } from '../../lib/transport';
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

  it('validates the option', () => {
    expect(() => new RpcServer({ httpHandler: 'no' as unknown as () => void })).to.throw(InvalidOptionError, /httpHandler/);
  });
});
