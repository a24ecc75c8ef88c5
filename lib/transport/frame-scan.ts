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
    if (pos >= end) return malformed('truncated frame');
    pending--;
    const t = buf[pos++]!;
    // The common kinds first: short strings, small integers, nil/booleans.
    if (t >= 0xa0 && t <= 0xbf) {
      if (counting && ++elements > maxElements) return tooMany(maxElements);
      const skip = t & 0x1f;
      if (skip > end - pos) return malformed('truncated frame');
      pos += skip;
      continue;
    }
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) {
      if (counting && ++elements > maxElements) return tooMany(maxElements);
      continue;
    }
    if (counting && ++elements > maxElements) return tooMany(maxElements);
    let children = 0;
    let skip = 0;
    let container = false;
    if (t <= 0x8f) {
      children = (t & 0x0f) * 2;
      container = true;
    } else if (t <= 0x9f) {
      children = t & 0x0f;
      container = true;
    } else {
      switch (t) {
        case 0xc4: case 0xd9: if (pos + 1 > end) return malformed('truncated length'); skip = buf[pos]!; pos += 1; break;
        case 0xc5: case 0xda: if (pos + 2 > end) return malformed('truncated length'); skip = (buf[pos]! << 8) | buf[pos + 1]!; pos += 2; break;
        case 0xc6: case 0xdb: if (pos + 4 > end) return malformed('truncated length'); skip = readU32(buf, pos); pos += 4; break;
        case 0xca: skip = 4; break;
        case 0xcb: skip = 8; break;
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xce: case 0xd2: skip = 4; break;
        case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
          const length = 1 << (t - 0xd4);
          if (pos + 1 > end) return malformed('truncated extension');
          const type = buf[pos++]!;
          if (!extensionAllowed(type, length)) return { kind: 'extension', message: `MessagePack extension type ${type} (${length} bytes) is not accepted` };
          skip = length;
          break;
        }
        case 0xc7: case 0xc8: case 0xc9: {
          const n = t === 0xc7 ? 1 : t === 0xc8 ? 2 : 4;
          if (pos + n + 1 > end) return malformed('truncated extension');
          const length = n === 1 ? buf[pos]! : n === 2 ? (buf[pos]! << 8) | buf[pos + 1]! : readU32(buf, pos);
          const type = buf[pos + n]!;
          pos += n + 1;
          if (!extensionAllowed(type, length)) return { kind: 'extension', message: `MessagePack extension type ${type} (${length} bytes) is not accepted` };
          skip = length;
          break;
        }
        case 0xdc: case 0xde:
          if (pos + 2 > end) return malformed('truncated length');
          children = ((buf[pos]! << 8) | buf[pos + 1]!) * (t === 0xde ? 2 : 1);
          pos += 2;
          container = true;
          break;
        case 0xdd: case 0xdf:
          if (pos + 4 > end) return malformed('truncated length');
          children = readU32(buf, pos) * (t === 0xdf ? 2 : 1);
          pos += 4;
          container = true;
          break;
        default:
          return malformed(`byte 0x${t.toString(16)} is not MessagePack`);
      }
    }
    if (skip > 0) {
      if (skip > end - pos) return malformed('truncated frame');
      pos += skip;
    }
    if (container && counting) {
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
  if (pos !== end) return malformed(`${end - pos} bytes after the frame's value`);
  return undefined;
}

function readU32(buf: Uint8Array, pos: number): number {
  return buf[pos]! * 0x1000000 + ((buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!);
}
