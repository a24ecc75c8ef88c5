/**
 * A pass over a MessagePack frame's bytes before anything builds a value from it: one value
 * spanning the whole buffer, at most `maxElements` values in all and `maxDepth` levels of
 * nesting, and no extension types but the two the protocol uses (msgpackr's `undefined`, and
 * timestamps for Dates). It allocates nothing and costs one step per value, so a hostile frame
 * is refused for about the price of reading it — msgpackr's structured-clone references
 * (a 320-byte DAG with 2^depth leaves), record definitions, Sets, Errors, RegExps, typed
 * arrays and bundled strings never reach the decoder.
 */

export interface DecodeLimits {
  /**
   * Values (array items, map keys and values, scalars) in one frame; an array or a map counts
   * as CONTAINER_WEIGHT values, since building one costs about that many numbers (measured:
   * 90 000 empty maps take ~10x as long as 90 000 small integers).
   */
  readonly maxElements: number;
  /** Levels of nested arrays and maps. */
  readonly maxDepth: number;
}

export type ScanProblem = { kind: 'malformed' | 'extension' | 'too-complex'; message: string };

/** msgpackr writes `undefined` as fixext 1 of type 0. */
const EXT_UNDEFINED = 0x00;
/** The MessagePack timestamp extension (type -1), for Dates. */
const EXT_TIMESTAMP = 0xff;

export const CONTAINER_WEIGHT = 8;

const malformed = (message: string): ScanProblem => ({ kind: 'malformed', message });
const tooMany = (max: number): ScanProblem => ({ kind: 'too-complex', message: `frame has more than ${max} values (arrays and maps count ${CONTAINER_WEIGHT})` });

function extensionAllowed(type: number, length: number): boolean {
  if (type === EXT_UNDEFINED) return length === 1;
  if (type === EXT_TIMESTAMP) return length === 4 || length === 8 || length === 12;
  return false;
}

/**
 * What a frame's lead byte is, one table load per value (the hot loop of every frame received):
 * below CONTAINER a scalar whose bytes after the lead are known from the lead alone (fixstr
 * length, 0 for fixint/nil/bool, 1–8 for numbers); from CONTAINER on, a kind that reads more.
 */
const CONTAINER = 64;
const FIXMAP = 64;
const FIXARRAY = 65;
const ARRAY16 = 66;
const MAP16 = 67;
const ARRAY32 = 68;
const MAP32 = 69;
/** From here on: a scalar whose length follows the lead (strings, binaries, extensions). */
const SIZED = 70;
const LEN8 = 70; // str 8, bin 8
const LEN16 = 71; // str 16, bin 16
const LEN32 = 72; // str 32, bin 32
const FIXEXT = 73;
const EXT = 74;
const NOT_MSGPACK = 75;

const LEAD = ((): Uint8Array => {
  const t = new Uint8Array(256).fill(NOT_MSGPACK);
  for (let b = 0x00; b <= 0x7f; b++) t[b] = 0; // positive fixint
  for (let b = 0x80; b <= 0x8f; b++) t[b] = FIXMAP;
  for (let b = 0x90; b <= 0x9f; b++) t[b] = FIXARRAY;
  for (let b = 0xa0; b <= 0xbf; b++) t[b] = b & 0x1f; // fixstr
  for (let b = 0xe0; b <= 0xff; b++) t[b] = 0; // negative fixint
  t[0xc0] = 0; // nil
  t[0xc2] = 0; // false
  t[0xc3] = 0; // true
  t[0xc4] = LEN8; t[0xd9] = LEN8;
  t[0xc5] = LEN16; t[0xda] = LEN16;
  t[0xc6] = LEN32; t[0xdb] = LEN32;
  t[0xc7] = EXT; t[0xc8] = EXT; t[0xc9] = EXT;
  t[0xca] = 4; t[0xcb] = 8; // float 32, 64
  t[0xcc] = 1; t[0xcd] = 2; t[0xce] = 4; t[0xcf] = 8; // uint 8–64
  t[0xd0] = 1; t[0xd1] = 2; t[0xd2] = 4; t[0xd3] = 8; // int 8–64
  for (let b = 0xd4; b <= 0xd8; b++) t[b] = FIXEXT;
  t[0xdc] = ARRAY16; t[0xdd] = ARRAY32;
  t[0xde] = MAP16; t[0xdf] = MAP32;
  return t;
})();

/** Open levels' pending counts, reused by every scan (one frame is scanned at a time). */
let sharedStack = new Int32Array(65);

/** Undefined when the frame may be decoded, otherwise what is wrong with it. */
export function scanFrame(buf: Uint8Array, limits: DecodeLimits): ScanProblem | undefined {
  const end = buf.length;
  const maxDepth = limits.maxDepth;
  const maxElements = limits.maxElements;
  // Every value takes at least one byte and counts at most CONTAINER_WEIGHT: a frame this short
  // cannot go over the limit, so the count is skipped (most frames).
  const counting = end * CONTAINER_WEIGHT > maxElements;
  if (sharedStack.length <= maxDepth) sharedStack = new Int32Array(maxDepth + 1);
  // Items still to read at each open level; `pending` is the innermost.
  const stack = sharedStack;
  const lead = LEAD;
  let depth = 0;
  let pending = 1;
  let elements = 0;
  let pos = 0;
  while (true) {
    if (pending === 0) {
      if (depth === 0) break;
      pending = stack[--depth]!;
      continue;
    }
    // A scalar's skip may have run past the end: caught here (or after the loop) before any read.
    if (pos >= end) return malformed('truncated frame');
    pending--;
    const t = buf[pos++]!;
    const kind = lead[t]!;
    if (counting && ++elements > maxElements) return tooMany(maxElements);
    if (kind < CONTAINER) {
      pos += kind;
      if (!counting) {
        // The rest of this level's scalars in a tighter loop (most of a frame's values).
        while (pending > 0 && pos < end) {
          const k = lead[buf[pos]!]!;
          if (k >= CONTAINER) break;
          pos += k + 1;
          pending--;
        }
      }
      continue;
    }
    let children = 0;
    let skip = 0;
    switch (kind) {
      case FIXMAP: children = (t & 0x0f) * 2; break;
      case FIXARRAY: children = t & 0x0f; break;
      case LEN8: if (pos + 1 > end) return malformed('truncated length'); skip = buf[pos]!; pos += 1; break;
      case LEN16: if (pos + 2 > end) return malformed('truncated length'); skip = (buf[pos]! << 8) | buf[pos + 1]!; pos += 2; break;
      case LEN32: if (pos + 4 > end) return malformed('truncated length'); skip = readU32(buf, pos); pos += 4; break;
      case FIXEXT: {
        const length = 1 << (t - 0xd4);
        if (pos + 1 > end) return malformed('truncated extension');
        const type = buf[pos++]!;
        if (!extensionAllowed(type, length)) return { kind: 'extension', message: `MessagePack extension type ${type} (${length} bytes) is not accepted` };
        skip = length;
        break;
      }
      case EXT: {
        const n = t === 0xc7 ? 1 : t === 0xc8 ? 2 : 4;
        if (pos + n + 1 > end) return malformed('truncated extension');
        const length = n === 1 ? buf[pos]! : n === 2 ? (buf[pos]! << 8) | buf[pos + 1]! : readU32(buf, pos);
        const type = buf[pos + n]!;
        pos += n + 1;
        if (!extensionAllowed(type, length)) return { kind: 'extension', message: `MessagePack extension type ${type} (${length} bytes) is not accepted` };
        skip = length;
        break;
      }
      case ARRAY16: case MAP16:
        if (pos + 2 > end) return malformed('truncated length');
        children = ((buf[pos]! << 8) | buf[pos + 1]!) * (kind === MAP16 ? 2 : 1);
        pos += 2;
        break;
      case ARRAY32: case MAP32:
        if (pos + 4 > end) return malformed('truncated length');
        children = readU32(buf, pos) * (kind === MAP32 ? 2 : 1);
        pos += 4;
        break;
      default:
        return malformed(`byte 0x${t.toString(16)} is not MessagePack`);
    }
    if (kind >= SIZED) {
      if (skip > end - pos) return malformed('truncated frame');
      pos += skip;
      continue;
    }
    // An array or a map.
    if (counting) {
      elements += CONTAINER_WEIGHT - 1;
      if (elements > maxElements) return tooMany(maxElements);
    }
    if (children > 0) {
      // Each child takes at least one byte: a count the rest of the frame cannot hold is a lie.
      if (children > end - pos) return malformed('container claims more items than the frame holds');
      if (depth >= maxDepth) return { kind: 'too-complex', message: `frame nests deeper than ${maxDepth} levels` };
      stack[depth++] = pending;
      pending = children;
    }
  }
  if (pos > end) return malformed('truncated frame');
  if (pos !== end) return malformed(`${end - pos} bytes after the frame's value`);
  return undefined;
}

function readU32(buf: Uint8Array, pos: number): number {
  return buf[pos]! * 0x1000000 + ((buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!);
}
