/**
 * 32-bit string hash for consistent hashing: FNV-1a over the UTF-16 code units (no allocation,
 * no encoding step), followed by murmur3's `fmix32` finalizer. Plain FNV-1a has weak avalanche
 * on the last characters, which matters here because virtual-node names differ only in their
 * suffix ("m-1#0", "m-1#1", ...); the finalizer spreads them evenly around the ring.
 */
export function hash32(s: string): number {
  return finish(fnv1a(FNV_OFFSET, s));
}

export const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a 32 state after feeding the UTF-16 code units of `s` into `state`. */
export function fnv1a(state: number, s: string): number {
  let h = state;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** murmur3's fmix32 avalanche: hash32(s) = finish(fnv1a(FNV_OFFSET, s)). */
export function finish(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
