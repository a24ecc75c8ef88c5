import { expect } from 'chai';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { encodeRequest, RpcConnection, RpcServer, TransportFault, TransportFaultCode } from '../../lib/transport';
import { nextFrameFor, packr, rawClient } from './helpers';

// Bad input over a real socket: after every bad frame, a good call on the SAME connection must
// succeed, the connection must stay open, and nothing may leak. >= 10 000 cases in total.

const KNOWN_FAULTS: ReadonlySet<TransportFaultCode> = new Set<TransportFaultCode>([
  'UNDECODABLE_FRAME', 'BAD_FRAME', 'TEXT_FRAME', 'UNEXPECTED_FRAME', 'DUPLICATE_CALL_ID', 'PAYLOAD_TOO_LARGE',
  'OVERLOADED', 'HANDLER_ERROR', 'NOT_ENCODABLE',
]);
const GOOD_ID_BASE = 4_000_000_000; // good calls use ids the generators below never produce

describe('transport bad input (property-based, real socket)', () => {
  let server: RpcServer;
  let url: string;
  let ws: WebSocket;
  let bystander: RpcConnection;
  const faults: TransportFault[] = [];
  let goodId = GOOD_ID_BASE;
  let cases = 0;

  before(async () => {
    server = new RpcServer({
      maxFrameBytes: 4096,
      handlers: { echo: (p) => p, throws: () => { throw new Error('x'); }, sym: () => Symbol('s') },
      onFault: (f) => faults.push(f),
    });
    url = (await server.listen()).url;
    ws = await rawClient(url);
    bystander = new RpcConnection({ url, reconnect: false });
    await bystander.connect();
  });

  after(async () => {
    ws.terminate();
    await bystander.close();
    await server.close({ graceMs: 0 });
  });

  /** Sends the bad frames, then a good call on the same socket, which must be answered. */
  async function sendThenCheck(frames: (Buffer | string)[]): Promise<void> {
    cases++;
    for (const f of frames) ws.send(f);
    const id = goodId++;
    const answer = nextFrameFor(ws, id);
    ws.send(encodeRequest(id, 'echo', { n: id }, Date.now() + 5000));
    expect(await answer).to.deep.equal([1, id, { n: id }]);
  }

  const callId = fc.integer({ min: 0, max: 1_000_000 });

  it('survives raw garbage bytes and text frames', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, asText) => {
        await sendThenCheck([asText ? Buffer.from(bytes).toString('latin1') : Buffer.from(bytes)]);
      }),
      { numRuns: 3000 },
    );
  });

  it('survives truncated and bit-flipped valid frames', async () => {
    await fc.assert(
      fc.asyncProperty(
        callId, fc.jsonValue({ maxDepth: 3 }), fc.nat(), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))),
        async (id, params, cut, flip) => {
          const full = Buffer.from(encodeRequest(id, 'echo', params, Date.now() + 5000));
          const bad = Buffer.from(full.subarray(0, cut % Math.max(1, full.length)));
          if (flip && bad.length > 0) bad[flip[0] % bad.length] = flip[1];
          await sendThenCheck([bad]);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('survives mistyped frames (valid MessagePack, wrong shape or types)', async () => {
    const typeTag = fc.oneof(fc.integer({ min: -2, max: 6 }), fc.string(), fc.constant(null));
    const frame = fc.oneof(
      fc.tuple(typeTag, fc.oneof(callId, fc.string(), fc.double(), fc.constant(-1))).chain(([t, id]) =>
        fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 8 }).map((rest) => [t, id, ...rest])),
      fc.tuple(fc.constant(0), callId, fc.oneof(fc.string(), fc.integer()), fc.anything({ maxDepth: 2 }), fc.oneof(fc.double(), fc.string()), fc.anything({ maxDepth: 1 })),
      fc.anything({ maxDepth: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        let bytes: Buffer;
        try {
          bytes = packr.pack(f);
        } catch {
          return; // not encodable by msgpackr: nothing to send
        }
        await sendThenCheck([bytes]);
      }),
      { numRuns: 3000 },
    );
  });

  it('survives out-of-order and abusive sequences (stray responses, cancels, duplicates, oversized)', async () => {
    const step = fc.oneof(
      callId.map((id) => packr.pack([1, id, 'stray response'])),
      callId.map((id) => packr.pack([2, id, 'INTERNAL', 'stray error', false, false])),
      callId.map((id) => packr.pack([3, id])),
      callId.map((id) => encodeRequest(id, 'echo', 'dup', Date.now() + 5000)),
      callId.map((id) => encodeRequest(id, 'throws', null, Date.now() + 5000)),
      callId.map((id) => encodeRequest(id, 'sym', null, Date.now() + 5000)),
      callId.map((id) => encodeRequest(id, 'nope', null, Date.now() + 5000)),
      callId.map((id) => encodeRequest(id, 'echo', null, Date.now() - 10)),
      fc.tuple(callId, fc.integer({ min: 4097, max: 20_000 })).map(([id, n]) => encodeRequest(id, 'echo', 'x'.repeat(n), Date.now() + 5000)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (frames) => {
        await sendThenCheck(frames);
      }),
      { numRuns: 1500 },
    );
  });

  it('... and afterwards: server up, connection open, nothing leaked, faults typed', async () => {
    expect(cases).to.be.at.least(10_000);
    expect(server.connections).to.equal(2);
    expect(ws.readyState).to.equal(WebSocket.OPEN);
    expect(server.inFlight).to.equal(0);
    expect((await bystander.call('echo', 'bystander')).result).to.equal('bystander');
    expect(faults.length).to.be.greaterThan(1000);
    for (const f of faults) expect(KNOWN_FAULTS.has(f.code), f.code).to.equal(true);
    const codes = new Set(faults.map((f) => f.code));
    for (const c of ['UNDECODABLE_FRAME', 'BAD_FRAME', 'TEXT_FRAME', 'UNEXPECTED_FRAME', 'PAYLOAD_TOO_LARGE'] as const) {
      expect(codes.has(c), c).to.equal(true);
    }
  });
});
