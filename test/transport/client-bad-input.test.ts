import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, RpcConnection, TransportFault } from '../../lib/transport';
import { expectRejection, packr, unpackr } from './helpers';

describe('transport client bad input', () => {
  it('a server sending garbage cannot crash the client; readable ids fail only their call', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    wss.on('headers', (h: string[]) => h.push(`${PROTOCOL_HEADER}: ${PROTOCOL_VERSION}`));
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => {
        const [, id, method] = unpackr.unpack(data) as [number, number, string];
        ws.send(Buffer.from([0xc1, 0xff, 0x00])); // not MessagePack
        ws.send('text frame');
        ws.send(packr.pack([0, 99, 'request to a client', null, 1])); // wrong direction
        ws.send(packr.pack([1, 123456, 'answer to nobody'])); // unknown id: ignored
        if (method === 'bad') ws.send(packr.pack([2, id, 42, 'code must be a string', true, true]));
        else ws.send(packr.pack([1, id, `ok ${method}`]));
      });
    });
    await new Promise((r) => wss.once('listening', r));
    const faults: TransportFault[] = [];
    const conn = new RpcConnection({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, reconnect: false });
    conn.on('fault', (f: TransportFault) => faults.push(f));
    try {
      await conn.connect();
      expect((await conn.call('good', null)).result).to.equal('ok good');
      expect(await expectRejection(conn.call('bad', null))).to.include({ code: 'PROTOCOL_ERROR', notExecuted: false });
      expect((await conn.call('again', null)).result).to.equal('ok again');
      expect(conn.state).to.equal('up');
      expect(new Set(faults.map((f) => f.code))).to.deep.equal(new Set(['UNDECODABLE_FRAME', 'TEXT_FRAME', 'UNEXPECTED_FRAME', 'BAD_FRAME']));
    } finally {
      await conn.close();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  });
});
