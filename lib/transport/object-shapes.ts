/**
 * Recognises maps whose keys repeat from one map to the next (an array of records, the same
 * reply every call) so that the decoder can match their keys by bytes, without making a string
 * per key, and build the object with one literal per shape instead of one keyed store per
 * property: a store with a key that changes from call to call is a slow, megamorphic one in V8,
 * and it was half of msgpackr's decoding time for an array of 200 small records.
 *
 * A shape is keyed by its raw key bytes, so it needs no state shared with the sender and changes
 * nothing on the wire (unlike msgpackr's records). Everything here is bounded, because peers
 * choose the keys: a fixed number of slots, at most MAX_SHAPE_KEYS short keys per shape, a shape
 * compiled only after it has been seen COMPILE_AFTER times, and compilations rate-limited
 * process-wide, so a peer that sends a new shape in every map costs a table write, never a
 * compilation per map.
 */

/** Maps with more keys than this are built the ordinary way (rare, and long literals compile slowly). */
export const MAX_SHAPE_KEYS = 24;
/** Sightings before a shape gets its literal: one-off maps never cause a compilation. */
export const COMPILE_AFTER = 8;
const SLOTS = 512;
/** Compilations allowed in a burst, and per second after it (process-wide). */
const COMPILE_BURST = 64;
const COMPILES_PER_SECOND = 16;
/** Misses a hot shape absorbs before another shape may take its slot. */
const MAX_CREDIT = 16;

export type ObjectMaker = (values: readonly unknown[]) => Record<string, unknown>;

export class ObjectShape {
  /** Sightings so far; the slot's replacement credit. */
  seen = 1;
  credit = 1;
  make: ObjectMaker | undefined;

  constructor(
    readonly count: number,
    /** Each key as on the wire: its fixstr lead byte, then its bytes. */
    readonly keyBytes: Uint8Array,
    readonly keys: readonly string[],
  ) {}
}

const slots: (ObjectShape | undefined)[] = new Array<ObjectShape | undefined>(SLOTS).fill(undefined);
let codegen = true;
let tokens = COMPILE_BURST;
let refilledAt = performance.now();

/**
 * The slot for a map of `count` entries whose first key (a fixstr) starts at `pos`: its entry
 * count, the key's length and its first two and last bytes, all known before any value is read.
 */
export function shapeSlot(src: Uint8Array, pos: number, count: number): number {
  const lead = src[pos]!;
  const len = lead & 0x1f;
  const h = (count * 0x3b) ^ (len * 0x1f1) ^ ((src[pos + 1]! | 0) << 1) ^ ((src[pos + 2]! | 0) * 0x65) ^ ((src[pos + len]! | 0) * 0x2d);
  return h & (SLOTS - 1);
}

export function shapeAt(slot: number): ObjectShape | undefined {
  return slots[slot];
}

/** Builds one object of a shape whose keys all matched; `values` holds its count values. */
export function buildShaped(shape: ObjectShape, values: unknown[]): Record<string, unknown> {
  if (shape.credit < MAX_CREDIT) shape.credit++;
  const make = shape.make;
  if (make !== undefined) return make(values);
  if (++shape.seen >= COMPILE_AFTER && codegen) shape.make = compile(shape.keys);
  const o: Record<string, unknown> = {};
  const keys = shape.keys;
  for (let i = 0; i < keys.length; i++) o[keys[i]!] = values[i];
  return o;
}

/**
 * A map that did not match its slot's shape was decoded the ordinary way: it may take the slot
 * once the shape there has used up its credit. `keyStarts` are the positions of its keys' lead
 * bytes in `src` (fixstr keys only; the caller checked).
 */
export function learnShape(slot: number, src: Uint8Array, keyStarts: Int32Array, keys: readonly string[]): void {
  const current = slots[slot];
  if (current !== undefined && --current.credit > 0) return;
  let bytes = 0;
  for (let i = 0; i < keys.length; i++) bytes += (src[keyStarts[i]!]! & 0x1f) + 1;
  const keyBytes = new Uint8Array(bytes);
  let at = 0;
  for (let i = 0; i < keys.length; i++) {
    const start = keyStarts[i]!;
    const len = (src[start]! & 0x1f) + 1;
    keyBytes.set(src.subarray(start, start + len), at);
    at += len;
  }
  slots[slot] = new ObjectShape(keys.length, keyBytes, keys.slice());
}

/**
 * `(v) => ({"k0": v[0], "k1": v[1], ...})`. Keys are written with JSON.stringify, which yields a
 * valid JavaScript string literal for any string, so no key can change the code; a key named
 * __proto__ never reaches here (the decoder renames it first, as msgpackr does). Returns
 * undefined, and keeps the keyed stores, when the budget is spent or code generation is
 * disallowed (node --disallow-code-generation-from-strings).
 */
function compile(keys: readonly string[]): ObjectMaker | undefined {
  const now = performance.now();
  tokens = Math.min(COMPILE_BURST, tokens + ((now - refilledAt) / 1000) * COMPILES_PER_SECOND);
  refilledAt = now;
  if (tokens < 1) return undefined;
  tokens--;
  let body = 'return {';
  for (let i = 0; i < keys.length; i++) body += `${i === 0 ? '' : ','}${JSON.stringify(keys[i])}:v[${i}]`;
  try {
    return new Function('v', `${body}}`) as ObjectMaker;
  } catch {
    codegen = false;
    return undefined;
  }
}

/** Tests only: how many shapes hold a slot, and how many of them were compiled. */
export function shapeStatsForTest(): { shapes: number; compiled: number } {
  let shapes = 0;
  let compiled = 0;
  for (const shape of slots) {
    if (shape === undefined) continue;
    shapes++;
    if (shape.make !== undefined) compiled++;
  }
  return { shapes, compiled };
}

/** Tests only: forget every shape and refill the compile budget. */
export function resetShapesForTest(options: { codegen?: boolean } = {}): void {
  slots.fill(undefined);
  codegen = options.codegen ?? true;
  tokens = COMPILE_BURST;
  refilledAt = performance.now();
}
