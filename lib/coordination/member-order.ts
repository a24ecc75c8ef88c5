import type { Member } from './member-record';

/**
 * The members of `byName` in line order (by sequence), from the previous ordered list and what
 * changed: every watching client runs this on every change, so no sort and no look-up per member —
 * a copy of the previous list, then each leaver, updated member and newcomer found or placed by
 * binary search (a joiner's sequence is normally the highest: an append). Falls back to a full sort
 * of `byName` if the changes do not account for it exactly.
 */
export function orderedMembers(
  previous: readonly Member[], byName: ReadonlyMap<string, Member>,
  joined: readonly Member[], left: readonly Member[], updated: readonly Member[],
): Member[] {
  let out: Member[] | undefined;
  if (left.length > 0 || updated.length > 0) {
    out = previous.slice();
    for (let i = 0; i < left.length; i++) {
      const at = indexOf(out, left[i]!);
      if (at >= 0) out.splice(at, 1);
    }
    for (let i = 0; i < updated.length; i++) {
      const m = updated[i]!;
      const at = indexOf(out, m);
      if (at >= 0) out[at] = m;
    }
  }
  for (let i = 0; i < joined.length; i++) {
    const m = joined[i]!;
    // A member that joined and left in the same round is not in byName any more.
    if (byName.get(m.name) !== m) continue;
    const list: readonly Member[] = out ?? previous;
    const at = bound(list, m.sequence, true);
    // The usual change is one join, an append: one copy of exactly the new length (a splice at the
    // end of a copy would grow its backing store by half again, garbage every client makes on every
    // join). Several joiners (a first listing) go into one copy.
    if (at === list.length && joined.length === 1) out = list.concat(m);
    else (out ??= previous.slice()).splice(at, 0, m);
  }
  out ??= previous.slice();
  if (out.length !== byName.size) return [...byName.values()].sort((a, b) => a.sequence - b.sequence);
  return out;
}

/** First index whose sequence is >= `sequence` (> when `after`); the length when none is. */
function bound(list: readonly Member[], sequence: number, after: boolean): number {
  let lo = 0;
  let hi = list.length;
  if (hi > 0 && list[hi - 1]!.sequence < sequence) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = list[mid]!.sequence;
    if (s < sequence || (after && s === sequence)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the member named like `m` (sequences repeat only across generations of the service node), or -1. */
function indexOf(list: readonly Member[], m: Member): number {
  for (let i = bound(list, m.sequence, false); i < list.length && list[i]!.sequence === m.sequence; i++) {
    if (list[i]!.name === m.name) return i;
  }
  return -1;
}
