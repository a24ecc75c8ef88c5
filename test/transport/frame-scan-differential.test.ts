import { expect } from 'chai';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { scanFrame, type DecodeLimits } from '../../lib/transport/frame-scan';
import { scanFrame as referenceScan } from './fixtures/reference-scan';

// scanFrame is table-driven (one lookup per value: it runs on every frame received). The
// fixture is the straightforward branch-per-type version it replaced, kept as the oracle: both
// must give the same verdict (pass, or the same kind of problem) on every input.

const packr = new Packr({ useRecords: false, moreTypes: false });
const cloner = new Packr({ structuredClone: true });
const limitsArb: fc.Arbitrary<DecodeLimits> = fc.record({
  maxElements: fc.integer({ min: 1, max: 2000 }),
  maxDepth: fc.integer({ min: 1, max: 70 }),
});

function sameVerdict(bytes: Uint8Array, limits: DecodeLimits): void {
  const fast = scanFrame(bytes, limits);
  const slow = referenceScan(bytes, limits);
  expect(fast?.kind, `bytes ${Buffer.from(bytes).toString('hex').slice(0, 200)}`).to.equal(slow?.kind);
}

describe('frame scan: the table-driven scan agrees with the reference scan', () => {
  it('random bytes (every lead byte, truncations, lying lengths)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), limitsArb, sameVerdict), { numRuns: 30_000, seed: 4242 });
  });

  it('valid frames of arbitrary values, whole, truncated, extended and bit-flipped', () => {
    const frame = fc.anything({ maxDepth: 4, withDate: true, withTypedArray: false, withMap: false, withSet: false })
      .map((v) => {
        try {
          return packr.pack([0, 1, 'echo', v, 5000]);
        } catch {
          return packr.pack([0, 1, 'echo', null, 5000]);
        }
      });
    fc.assert(fc.property(frame, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 3 }), limitsArb, (bytes, at, bit, mutation, limits) => {
      let b = Buffer.from(bytes);
      if (mutation === 1) b = b.subarray(0, at % (b.length + 1));
      if (mutation === 2) b = Buffer.concat([b, Buffer.from([at & 0xff])]);
      if (mutation === 3) b[at % b.length] ^= 1 << (bit % 8);
      sameVerdict(b, limits);
      sameVerdict(b, { maxElements: 100_000, maxDepth: 64 });
    }), { numRuns: 20_000, seed: 99 });
  });

  it('structured-clone encodings (extensions the scan refuses)', () => {
    fc.assert(fc.property(fc.anything({ maxDepth: 3, withMap: true, withSet: true, withTypedArray: true }), (v) => {
      let bytes: Buffer;
      try {
        bytes = cloner.pack(v);
      } catch {
        return;
      }
      sameVerdict(bytes, { maxElements: 100_000, maxDepth: 64 });
    }), { numRuns: 5_000, seed: 7 });
  });

  it('long runs of scalars (the tight loop), cut or extended at any byte, inside nested containers', () => {
    const scalar = fc.oneof(fc.integer({ min: -40, max: 200 }), fc.string({ maxLength: 40 }), fc.constant(null), fc.boolean(), fc.double());
    const frame = fc.tuple(fc.array(scalar, { minLength: 1, maxLength: 400 }), fc.integer({ min: 0, max: 3 })).map(([run, nest]) => {
      let v: unknown = run;
      for (let i = 0; i < nest; i++) v = [v, { k: v }];
      return packr.pack(v);
    });
    fc.assert(fc.property(frame, fc.nat(), (bytes, cut) => {
      const b = Buffer.from(bytes);
      sameVerdict(b.subarray(0, cut % (b.length + 1)), { maxElements: 100_000, maxDepth: 64 });
      sameVerdict(Buffer.concat([b, b.subarray(0, 1 + (cut % 8))]), { maxElements: 100_000, maxDepth: 64 });
      sameVerdict(b, { maxElements: 1 + (cut % 3000), maxDepth: 1 + (cut % 6) });
    }), { numRuns: 3_000, seed: 11 });
  });

  it('every single lead byte, followed by enough zeros', () => {
    for (let b = 0; b < 256; b++) {
      for (const tail of [0, 1, 2, 4, 8, 17, 40]) sameVerdict(Buffer.concat([Buffer.from([b]), Buffer.alloc(tail)]), { maxElements: 100, maxDepth: 4 });
    }
  });
});
