import { Buffer } from 'node:buffer';
import { buildShaped, learnShape, MAX_SHAPE_KEYS, shapeAt, shapeSlot } from './object-shapes';

/**
 * MessagePack bytes to values, for frames that scanFrame has already passed: one value spanning
 * the buffer, within the limits, only the two extensions the protocol uses. It runs on every
 * frame received, so it is written here rather than taken from msgpackr: the same values as
 * msgpackr's Unpackr({ useRecords: false, mapsAsObjects: true }) gives for those frames (64-bit
 * integers as BigInt, timestamps as Date, msgpackr's undefined, bin as a Buffer view of the
 * frame, a "__proto__" key renamed "__proto_"), but maps whose keys repeat are matched by their
 * bytes and built with one object literal per shape (object-shapes.ts). Strings are decoded as
 * WHATWG UTF-8 (invalid bytes become U+FFFD).
 *
 * A frame that did not pass the scan must never get here: this decoder trusts lengths.
 */
export function decodeScanned(data: Uint8Array): unknown {
  src = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  pos = 0;
  try {
    return read(0);
  } finally {
    // Not keeping the last frame (and whatever it pins) alive until the next one.
    src = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);
let src: Buffer = EMPTY;
let pos = 0;

/** Per nesting level: the values of a map being matched against a shape, and its keys' positions. */
const valueScratch: unknown[][] = [];
const keyStartScratch: Int32Array[] = [];

function read(depth: number): unknown {
  const t = src[pos++]!;
  if (t < 0x80) return t;
  if (t < 0x90) return readMap(t & 0x0f, depth);
  if (t < 0xa0) return readArray(t & 0x0f, depth);
  if (t < 0xc0) return readString(t & 0x1f);
  if (t >= 0xe0) return t - 0x100;
  switch (t) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return readBin(src[pos++]!);
    case 0xc5: return readBin(readU16());
    case 0xc6: return readBin(readU32());
    case 0xc7: return readExt(src[pos++]!);
    case 0xc8: return readExt(readU16());
    case 0xc9: return readExt(readU32());
    case 0xca: return readFloat(4);
    case 0xcb: return readFloat(8);
    case 0xcc: return src[pos++]!;
    case 0xcd: return readU16();
    case 0xce: return readU32();
    case 0xcf: return readBig(false);
    case 0xd0: { const v = src[pos++]!; return v >= 0x80 ? v - 0x100 : v; }
    case 0xd1: { const v = readU16(); return v >= 0x8000 ? v - 0x10000 : v; }
    case 0xd2: { const v = (src[pos]! << 24) | (src[pos + 1]! << 16) | (src[pos + 2]! << 8) | src[pos + 3]!; pos += 4; return v; }
    case 0xd3: return readBig(true);
    case 0xd4: return readExt(1);
    case 0xd5: return readExt(2);
    case 0xd6: return readExt(4);
    case 0xd7: return readExt(8);
    case 0xd8: return readExt(16);
    case 0xd9: return readString(src[pos++]!);
    case 0xda: return readString(readU16());
    case 0xdb: return readString(readU32());
    case 0xdc: return readArray(readU16(), depth);
    case 0xdd: return readArray(readU32(), depth);
    case 0xde: return readMap(readU16(), depth);
    case 0xdf: return readMap(readU32(), depth);
    default: throw new Error(`byte 0x${t.toString(16)} is not MessagePack`);
  }
}

function readU16(): number {
  const v = (src[pos]! << 8) | src[pos + 1]!;
  pos += 2;
  return v;
}

function readU32(): number {
  const v = src[pos]! * 0x1000000 + ((src[pos + 1]! << 16) | (src[pos + 2]! << 8) | src[pos + 3]!);
  pos += 4;
  return v;
}

function readFloat(bytes: 4 | 8): number {
  const v = bytes === 4 ? src.readFloatBE(pos) : src.readDoubleBE(pos);
  pos += bytes;
  return v;
}

function readBig(signed: boolean): bigint {
  const high = BigInt(src[pos]! * 0x1000000 + ((src[pos + 1]! << 16) | (src[pos + 2]! << 8) | src[pos + 3]!));
  const low = BigInt(src[pos + 4]! * 0x1000000 + ((src[pos + 5]! << 16) | (src[pos + 6]! << 8) | src[pos + 7]!));
  pos += 8;
  const v = (high << 32n) | low;
  return signed ? BigInt.asIntN(64, v) : v;
}

function readBin(length: number): Buffer {
  return src.subarray(pos, (pos += length));
}

/** msgpackr's `undefined` (type 0) and MessagePack timestamps (type -1), as msgpackr reads them. */
function readExt(length: number): unknown {
  const type = src[pos++]!;
  const at = pos;
  pos += length;
  if (type === 0x00) return undefined;
  if (type !== 0xff) throw new Error(`MessagePack extension type ${type} is not accepted`);
  const d = src;
  const p = at;
  if (length === 4) return new Date((d[p]! * 0x1000000 + (d[p + 1]! << 16) + (d[p + 2]! << 8) + d[p + 3]!) * 1000);
  if (length === 8) {
    return new Date(
      ((d[p]! << 22) + (d[p + 1]! << 14) + (d[p + 2]! << 6) + (d[p + 3]! >> 2)) / 1000000 +
        ((d[p + 3]! & 0x3) * 0x100000000 + d[p + 4]! * 0x1000000 + (d[p + 5]! << 16) + (d[p + 6]! << 8) + d[p + 7]!) * 1000,
    );
  }
  if (length === 12) {
    return new Date(
      ((d[p]! << 24) + (d[p + 1]! << 16) + (d[p + 2]! << 8) + d[p + 3]!) / 1000000 +
        ((d[p + 4]! & 0x80 ? -0x1000000000000 : 0) + d[p + 6]! * 0x10000000000 + d[p + 7]! * 0x100000000 + d[p + 8]! * 0x1000000 +
          (d[p + 9]! << 16) + (d[p + 10]! << 8) + d[p + 11]!) * 1000,
    );
  }
  return new Date(NaN);
}

/** Short ASCII strings in JavaScript (a native call costs more than they do), the rest natively. */
function readString(length: number): string {
  const start = pos;
  const end = start + length;
  pos = end;
  if (length > 12) return src.toString('utf8', start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const c = src[i]!;
    if (c >= 0x80) return src.toString('utf8', start, end);
    s += String.fromCharCode(c);
  }
  return s;
}

function readArray(length: number, depth: number): unknown[] {
  const a = new Array<unknown>(length);
  for (let i = 0; i < length; i++) a[i] = read(depth + 1);
  return a;
}

function isFixstr(b: number): boolean {
  return b >= 0xa0 && b <= 0xbf;
}

function readMap(count: number, depth: number): Record<string, unknown> {
  if (count === 0) return {};
  if (count > MAX_SHAPE_KEYS || !isFixstr(src[pos]!)) return readMapRest({}, 0, count, depth, -1);
  const slot = shapeSlot(src, pos, count);
  const shape = shapeAt(slot);
  if (shape === undefined || shape.count !== count) return readMapRest({}, 0, count, depth, slot);
  const values = (valueScratch[depth] ??= []);
  const keyBytes = shape.keyBytes;
  // Locals, not the module's src/pos, in the byte loop: a third of the decoding time otherwise.
  const s = src;
  let at = 0;
  let i = 0;
  for (; i < count; i++) {
    const p = pos;
    const len = (keyBytes[at]! & 0x1f) + 1;
    let k = 0;
    while (k < len && s[p + k] === keyBytes[at + k]) k++;
    if (k !== len) break;
    pos = p + len;
    at += len;
    values[i] = read(depth + 1);
  }
  if (i === count) {
    const o = buildShaped(shape, values);
    values.fill(undefined, 0, count);
    return o;
  }
  // Another key sequence in this slot: the first i entries matched; the rest the ordinary way.
  const o: Record<string, unknown> = {};
  const keys = shape.keys;
  for (let j = 0; j < i; j++) o[keys[j]!] = values[j];
  values.fill(undefined, 0, i);
  return readMapRest(o, i, count, depth, i === 0 ? slot : -1);
}

/**
 * Entries from `from` on, with a keyed store each. With a slot (>= 0, and from = 0), the map's
 * keys are offered to the shape cache when they are all short strings.
 */
function readMapRest(o: Record<string, unknown>, from: number, count: number, depth: number, slot: number): Record<string, unknown> {
  const learning = slot >= 0;
  let starts: Int32Array | undefined;
  let keys: string[] | undefined;
  if (learning) {
    starts = keyStartScratch[depth] ??= new Int32Array(MAX_SHAPE_KEYS);
    keys = [];
  }
  let shapeable = learning;
  for (let i = from; i < count; i++) {
    const lead = src[pos]!;
    let key: string;
    if (isFixstr(lead)) {
      if (shapeable) starts![i] = pos;
      pos++;
      key = readString(lead & 0x1f);
    } else {
      shapeable = false;
      key = keyString(read(depth + 1));
    }
    if (key === '__proto__') key = '__proto_';
    if (shapeable) keys!.push(key);
    o[key] = read(depth + 1);
  }
  if (shapeable) learnShape(slot, src, starts!, keys!);
  return o;
}

/** msgpackr's rule for a key that is not a string (it refuses the rest as too costly to convert). */
function keyString(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'boolean' || typeof key === 'bigint') return key.toString();
  if (key === null || key === undefined) return `${key}`;
  throw new Error(`map key of type ${typeof key} is not accepted`);
}
