/**
 * Interleaved rounds on a shared machine: the order the contestants run in, and verdicts that
 * compare them within a round (paired) rather than each one's best round.
 */

/** The middle value (the mean of the two middle ones for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Round r's order: as given on even rounds, reversed on odd ones (ABBA), so that none always runs first or last. */
export function roundOrder<T>(xs: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...xs] : [...xs].reverse();
}

/**
 * The median over the rounds of f(a) / f(b), each ratio taken within ONE round (paired): load that
 * slows both in a round cancels out, and one lucky round cannot decide. Rounds missing on either
 * side, or where f(b) is not positive, are left out; undefined when none is left.
 */
export function pairedMedian<R extends { round?: number }>(a: readonly R[], b: readonly R[], f: (r: R) => number): number | undefined {
  const xs = a.flatMap((ra) => {
    const rb = b.find((r) => r.round === ra.round);
    return rb !== undefined && f(rb) > 0 ? [f(ra) / f(rb)] : [];
  });
  return xs.length === 0 ? undefined : median(xs);
}
