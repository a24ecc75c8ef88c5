/**
 * 32-bit string hash for consistent hashing: FNV-1a over the UTF-16 code units (no allocation,
 * no encoding step), followed by murmur3's `fmix32` finalizer. Plain FNV-1a has weak avalanche
 * on the last characters, which matters here because virtual-node names differ only in their
 * suffix ("m-1#0", "m-1#1", ...); the finalizer spreads them evenly around the ring.
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
