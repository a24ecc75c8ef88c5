import { expect } from 'chai';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { inspect, isDeepStrictEqual } from 'node:util';
import { scanFrame } from '../../lib/transport/frame-scan';
import { COMPILE_AFTER, MAX_SHAPE_KEYS, resetShapesForTest, shapeStatsForTest } from '../../lib/transport/object-shapes';
import { decodeScanned } from '../../lib/transport/value-decoder';

// The frame decoder is hand-written (it runs on every frame received): it must give exactly what
// msgpackr's Unpackr gave for every frame the scan passes, with shapes compiled or not.
const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false, moreTypes: false });
const LIMITS = { maxElements: 100_000, maxDepth: 64 };

function hasReplacementChar(v: unknown, depth = 0): boolean {
  if (depth > 70) return false;
  if (typeof v === 'string') return v.includes('\ufffd');
  if (Array.isArray(v)) return v.some((x) => hasReplacementChar(x, depth + 1));
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date)) {
    return Object.entries(v).some(([k, x]) => k.includes('\ufffd') || hasReplacementChar(x, depth + 1));
  }
  return false;
}

/** Same value as msgpackr, or both throw; invalid UTF-8 aside (we decode it as WHATWG does). */
function agrees(bytes: Uint8Array): void {
  if (scanFrame(bytes, LIMITS) !== undefined) return;
  let ours: unknown;
  let theirs: unknown;
  let oursFailed = false;
  let theirsFailed = false;
  try { ours = decodeScanned(bytes); } catch { oursFailed = true; }
  try { theirs = unpackr.unpack(bytes); } catch { theirsFailed = true; }
  if (!oursFailed && hasReplacementChar(ours)) return;
  const hex = Buffer.from(bytes).toString('hex').slice(0, 300);
  expect(oursFailed, `throws as msgpackr does: ${hex}`).to.equal(theirsFailed);
  // An invalid Date is not deep-equal to itself (NaN): then the printed forms are compared.
  const same = isDeepStrictEqual(ours, theirs) || inspect(ours, { depth: Infinity }) === inspect(theirs, { depth: Infinity });
  if (!oursFailed) expect(same, `same value as msgpackr: ${hex}`).to.equal(true);
}

const value = fc.anything({ maxDepth: 4, withDate: true, withBigInt: true, withNullPrototype: false, withTypedArray: false, withMap: false, withSet: false, withBoxedValues: false, withSparseArray: false })
  .chain((v) => fc.constant(v));

function packOrSkip(v: unknown): Buffer | undefined {
  try {
    return packr.pack(v);
  } catch {
    return undefined;
  }
}

describe('frame decoder: the same values as msgpackr', () => {
  beforeEach(() => resetShapesForTest());
  after(() => resetShapesForTest());

  it('arbitrary values, decoded twice each (shapes learnt on the first pass, used on the second)', () => {
    fc.assert(fc.property(value, (v) => {
      const bytes = packOrSkip([0, 1, 'm', v, 5]);
      if (!bytes) return;
      for (let i = 0; i < COMPILE_AFTER + 2; i++) agrees(bytes);
    }), { numRuns: 3000, seed: 10 });
  });

  it('frames cut, extended and bit-flipped (whatever the scan passes)', () => {
    fc.assert(fc.property(value, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 2 }), (v, at, bit, mutation) => {
      const packed = packOrSkip([1, 7, v]);
      if (!packed) return;
      let b = Buffer.from(packed);
      if (mutation === 1) b = Buffer.concat([b, Buffer.from([at & 0xff])]);
      if (mutation === 2) b[at % b.length] ^= 1 << (bit % 8);
      agrees(b);
      agrees(b);
    }), { numRuns: 20_000, seed: 99 });
  });

  it('records of one shape, of many shapes, colliding, growing, with hostile and odd keys — compiled or not', () => {
    const oddKeys = ['__proto__', '__proto_', 'constructor', 'toString', '', '0', '1', '10', '-1', '"', '\\', "'", '${x}', '*/', '\u2028', '\u2029', 'é', '日本', '\n', 'a b', 'x'.repeat(31)];
    const shapes: Record<string, unknown>[] = [
      { id: 1, name: 'a', price: 1.5, tags: ['x'], flag: true },
      { id: 2, name: 'b', price: -2.25, tags: [], flag: false },
      { name: 'c', id: 3, price: 0, tags: ['y', 'z'], flag: null },
      { id: 4, name: 'd' },
      Object.fromEntries(oddKeys.map((k, i) => [k, i])),
      Object.fromEntries(Array.from({ length: MAX_SHAPE_KEYS }, (_, i) => [`k${i}`, i])),
      Object.fromEntries(Array.from({ length: MAX_SHAPE_KEYS + 1 }, (_, i) => [`k${i}`, i])),
      { ab: 1, ac: 2 }, { ab: 1, ad: 2 }, { ab: 1, ac: 2, ad: 3 },
      { when: new Date(1_700_000_000_123), big: 2n ** 60n, neg: -(2n ** 62n), blob: Buffer.from([1, 2, 3]), nothing: undefined, f: 0.1 },
    ];
    for (const codegen of [true, false]) {
      resetShapesForTest({ codegen });
      for (let round = 0; round < 3 * COMPILE_AFTER; round++) {
        for (const shape of shapes) agrees(packr.pack([1, round, { list: [shape, shape, { ...shape }], shape }]));
        agrees(packr.pack(shapes));
      }
    }
    // Duplicate keys on the wire (msgpackr never writes them; a peer may): the last one wins, as msgpackr.
    const dup = Buffer.from([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02]);
    for (let i = 0; i < 2 * COMPILE_AFTER; i++) agrees(dup);
    expect(decodeScanned(dup)).to.deep.equal({ a: 2 });
  });

  it('never touches a prototype: "__proto__" becomes an own "__proto_" key, compiled or not', () => {
    const evil = packr.pack([JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')]);
    for (const codegen of [true, false]) {
      resetShapesForTest({ codegen });
      for (let i = 0; i < 3 * COMPILE_AFTER; i++) {
        const [o] = decodeScanned(evil) as [Record<string, unknown>];
        expect(Object.getPrototypeOf(o)).to.equal(Object.prototype);
        expect(o).to.have.own.property('__proto_');
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      }
    }
  });

  it('a peer sending a new shape in every map gets no compilation per map (learnt, never hot), and the cache stays bounded', () => {
    for (let frame = 0; frame < 200; frame++) {
      const maps = Array.from({ length: 100 }, (_, i) => ({ [`k${frame}_${i}`]: i, other: frame }));
      agrees(packr.pack(maps));
    }
    const stats = shapeStatsForTest();
    expect(stats.compiled, 'one-off shapes are never compiled').to.equal(0);
    expect(stats.shapes).to.be.at.most(512);
    // Now each shape COMPILE_AFTER times: compilations are rate-limited process-wide.
    for (let frame = 0; frame < 200; frame++) {
      const maps = Array.from({ length: 4 * COMPILE_AFTER }, (_, i) => ({ [`h${frame}_${i % 4}`]: i, x: 1 }));
      agrees(packr.pack(maps));
    }
    expect(shapeStatsForTest().compiled, 'compilations within the burst budget').to.be.at.most(64 + 16);
  });
});
