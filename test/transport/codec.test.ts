import { expect } from 'chai';
import fc from 'fast-check';
import {
  decodeFrame, encodeCancel, encodeError, encodeRequest, encodeResponse, MAX_CALL_ID, peekHeader,
} from '../../lib/transport';
import { frameError, packr } from './helpers';

describe('transport codec', () => {
  it('round-trips every frame type', () => {
    expect(decodeFrame(encodeRequest(7, 'echo', { a: [1, 'x'] }, 1234, { trace: 't' }))).to.deep.equal([0, 7, 'echo', { a: [1, 'x'] }, 1234, { trace: 't' }]);
    expect(decodeFrame(encodeRequest(8, 'm', null, 5))).to.deep.equal([0, 8, 'm', null, 5]);
    expect(decodeFrame(encodeResponse(9, { ok: true }, 42))).to.deep.equal([1, 9, { ok: true }, 42]);
    expect(decodeFrame(encodeResponse(9, 'x', undefined))).to.deep.equal([1, 9, 'x']);
    expect(decodeFrame(encodeError(10, { code: 'NOT_PRIMARY', message: 'no', retryable: true, notExecuted: true, leaderHint: 'ws://b' })))
      .to.deep.equal([2, 10, 'NOT_PRIMARY', 'no', true, true, 'ws://b']);
    expect(decodeFrame(encodeError(11, { code: 'INTERNAL', message: 'x', retryable: false, notExecuted: false, data: { k: 1 } })))
      .to.deep.equal([2, 11, 'INTERNAL', 'x', false, false, undefined, { k: 1 }]);
    expect(decodeFrame(encodeCancel(MAX_CALL_ID))).to.deep.equal([3, MAX_CALL_ID]);
  });

  it('round-trips arbitrary params and results (property)', () => {
    fc.assert(
      // msgpackr renames a "__proto__" key (prototype-pollution guard), tested separately below.
      fc.property(fc.integer({ min: 0, max: MAX_CALL_ID }), fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')), (id, value) => {
        const req = decodeFrame(encodeRequest(id, 'm', value, 1));
        expect(req[1]).to.equal(id);
        // Compared as JSON: msgpackr writes -0 as the integer 0, as JSON does.
        expect(JSON.stringify(req[3])).to.equal(JSON.stringify(value));
        const res = decodeFrame(encodeResponse(id, value, 3));
        expect(JSON.stringify(res[2])).to.equal(JSON.stringify(value));
        expect(peekHeader(encodeRequest(id, 'm', value, 1))).to.deep.equal({ type: 0, id });
      }),
      { numRuns: 1000 },
    );
  });

  it('never lets a "__proto__" key pollute prototypes', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    const f = decodeFrame(encodeRequest(1, 'm', evil, 1));
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(Object.getPrototypeOf(f[3])).to.equal(Object.prototype);
  });

  it('peeks the type and id of a truncated frame', () => {
    const full = encodeRequest(70000, 'echo', 'x'.repeat(1000), 1);
    expect(peekHeader(full.subarray(0, 8))).to.deep.equal({ type: 0, id: 70000 });
    expect(peekHeader(Buffer.from([0xc1]))).to.equal(undefined);
    expect(peekHeader(Buffer.alloc(0))).to.equal(undefined);
  });

  it('throws FrameError, with the id when readable, for bad frames', () => {
    const truncated = encodeRequest(5, 'echo', 'hello world', 1);
    const e1 = frameError(() => decodeFrame(truncated.subarray(0, truncated.length - 3)));
    expect(e1.reason).to.equal('UNDECODABLE');
    expect(e1.id).to.equal(5);
    const e2 = frameError(() => decodeFrame(packr.pack([0, 6, 123, null, 1])));
    expect(e2.reason).to.equal('BAD_SHAPE');
    expect(e2.id).to.equal(6);
    expect(frameError(() => decodeFrame(packr.pack({ not: 'a frame' }))).reason).to.equal('BAD_SHAPE');
    expect(frameError(() => decodeFrame(packr.pack([9, 1]))).reason).to.equal('BAD_SHAPE');
    expect(frameError(() => decodeFrame(packr.pack([0, -1, 'm', null, 1]))).id).to.equal(undefined);
  });
});
