/**
 * The commit rule, pure: an op is committed once every required backup holds it. Required = the
 * in-sync set (without ourselves) plus members being added to it.
 */
export function requiredMembers(isr: readonly string[], joining: ReadonlySet<string>, self: string): string[] {
  const out: string[] = [];
  for (const k of isr) if (k !== self) out.push(k);
  for (const k of joining) if (k !== self && !out.includes(k)) out.push(k);
  return out;
}

/** Required backups that do not hold `index` (a backup never heard from holds nothing). */
export function laggards(required: readonly string[], match: ReadonlyMap<string, number>, index: number): string[] {
  return required.filter((k) => (match.get(k) ?? -1) < index);
}

/** The highest index every required backup holds, capped by our own last index. */
export function commitIndex(required: readonly string[], match: ReadonlyMap<string, number>, lastIndex: number): number {
  let commit = lastIndex;
  for (const k of required) commit = Math.min(commit, match.get(k) ?? -1);
  return commit;
}
