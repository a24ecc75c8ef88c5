import { createHash, timingSafeEqual } from 'node:crypto';

function digest(v: string | Uint8Array): Buffer {
  return createHash('sha256').update(v).digest();
}

/**
 * Compares two secrets (bearer tokens, shared keys) in constant time, for `authenticate` hooks:
 * `===` stops at the first differing character, which lets an attacker guess a token one
 * character at a time by timing. Both sides are hashed first so that neither the content nor
 * the length of the expected secret leaks. Anything that is not a string or bytes is unequal.
 */
export function secretsEqual(given: unknown, expected: string | Uint8Array): boolean {
  if (typeof given !== 'string' && !(given instanceof Uint8Array)) return false;
  return timingSafeEqual(digest(given), digest(expected));
}
