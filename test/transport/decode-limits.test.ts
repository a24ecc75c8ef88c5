import { expect } from 'chai';
import { Packr } from 'msgpackr';
import { decodeFrame, encodeRequest } from '../../lib/transport';
import { describeUntrusted } from '../../lib/base/untrusted';
import { frameError, packr } from './helpers';

/** A request whose params are a DAG of shared references: 2^depth leaves in a few hundred bytes. */
export function dagFrame(depth: number, id = 1): Buffer {
  let v: unknown = [1];
  for (let i = 0; i < depth; i++) v = [v, v];
  return new Packr({ structuredClone: true }).pack([0, id, 'echo', v, 5000]);
}

/** A request whose params are `n` empty arrays (one byte each). */
export function emptyArraysFrame(n: number, id = 1): Buffer {
  const head = Buffer.from(packr.pack([0, id, 'echo'])); // fixarray(3): patched to 5 below
  head[0] = 0x95;
  const arr = Buffer.alloc(5 + n, 0x90);
  arr[0] = 0xdd;
  arr.writeUInt32BE(n, 1);
  return Buffer.concat([head, arr, packr.pack(5000)]);
}

describe('transport decoding does only what the protocol needs', () => {
  it('refuses a ~320-byte structured-clone DAG frame without expanding it', () => {
    const frame = dagFrame(23);
    expect(frame.length).to.be.within(280, 360);
    const c0 = process.cpuUsage();
    const e = frameError(() => decodeFrame(frame));
    const c = process.cpuUsage(c0);
    expect((c.user + c.system) / 1000).to.be.lessThan(50);
    expect(e.reason).to.equal('UNDECODABLE');
    expect(e.id).to.equal(1);
    expect(e.message).to.match(/extension type 105/);
    expect(e.message.length).to.be.lessThan(200);
  });

  it('refuses every extension type a peer could choose, keeps Date and undefined', () => {
    const clone = new Packr({ structuredClone: true });
    const records = new Packr({ useRecords: true });
    const bundled = new Packr({ bundleStrings: true, useRecords: false });
    const hostile: [string, Buffer][] = [
      ['Set', clone.pack([0, 2, 'm', new Set([1, 2]), 1])],
      ['Error', clone.pack([0, 2, 'm', new Error('x'), 1])],
      ['RegExp', clone.pack([0, 2, 'm', /(a+)+$/, 1])],
      ['typed array', clone.pack([0, 2, 'm', new Float64Array([1, 2]), 1])],
      ['record', records.pack([0, 2, 'm', { a: 1, b: 2 }, 1])],
      ['bundled strings', bundled.pack([0, 2, 'm', { text: 'hello world, a bundled string' }, 1])],
      ['BigInt extension', Buffer.from([0x95, 0x00, 0x02, 0xa1, 0x6d, 0xd4, 0x42, 0x01, 0x01])],
    ];
    for (const [name, bytes] of hostile) {
      const e = frameError(() => decodeFrame(bytes));
      expect(e.reason, name).to.equal('UNDECODABLE');
      expect(e.message, name).to.match(/extension type \d+/);
    }
    const date = new Date(1_700_000_000_123);
    const ok = decodeFrame(encodeRequest(3, 'm', { when: date, nothing: undefined }, 1));
    expect((ok[3] as { when: Date }).when.getTime()).to.equal(date.getTime());
    expect(ok[3]).to.have.property('nothing', undefined);
  });

  it('a 4 MB frame of empty arrays is refused before decoding: no allocation, no stall', () => {
    const frame = emptyArraysFrame(4 * 1024 * 1024 - 64);
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const c0 = process.cpuUsage();
    const e = frameError(() => decodeFrame(frame));
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000; // CPU time: the machine is shared, wall time includes waiting
    const grewMiB = (process.memoryUsage().heapUsed - heap0) / 1024 / 1024;
    expect(e.reason).to.equal('TOO_COMPLEX');
    expect(e.id).to.equal(1);
    expect(ms).to.be.lessThan(50);
    expect(grewMiB).to.be.lessThan(16);
    // within the limit it decodes
    expect((decodeFrame(emptyArraysFrame(1000))[3] as unknown[]).length).to.equal(1000);
  });

  it('enforces nesting and element limits, configurable', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(frameError(() => decodeFrame(encodeRequest(4, 'm', deep, 1))).reason).to.equal('TOO_COMPLEX');
    expect(() => decodeFrame(encodeRequest(4, 'm', deep, 1), { maxElements: 1000, maxDepth: 200 })).not.to.throw();
    const wide = Array.from({ length: 50 }, (_, i) => i);
    expect(frameError(() => decodeFrame(encodeRequest(5, 'm', wide, 1), { maxElements: 40, maxDepth: 8 })).reason).to.equal('TOO_COMPLEX');
  });

  it('refuses trailing bytes and lying lengths without building anything', () => {
    const good = encodeRequest(6, 'm', 'x', 1);
    expect(frameError(() => decodeFrame(Buffer.concat([good, good]))).message).to.match(/bytes after/);
    // an array32 claiming 2^32-1 items in a 10-byte frame
    expect(frameError(() => decodeFrame(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04]))).reason).to.equal('UNDECODABLE');
  });

  it('messages never serialise untrusted values', () => {
    const huge = 'z'.repeat(3 * 1024 * 1024);
    const e = frameError(() => decodeFrame(packr.pack([huge, 7])));
    expect(e.message.length).to.be.lessThan(200);
    const e2 = frameError(() => decodeFrame(packr.pack([{ t: huge }, 7])));
    expect(e2.message.length).to.be.lessThan(200);
    expect(describeUntrusted(huge).length).to.be.lessThan(60);
    expect(describeUntrusted('\u001b[31mred').includes(String.fromCharCode(27))).to.equal(false);
  });
});
