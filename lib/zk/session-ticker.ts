/**
 * One interval timer per tick period for every session of the process, instead of one per
 * session: a process holding hundreds of sessions (clients of many services, or bench:scale's 250
 * per watcher process) otherwise pays Node's per-timer bookkeeping on every tick of each.
 */
interface Ticking { tick(): void }

const groups = new Map<number, { timer: NodeJS.Timeout; members: Set<Ticking> }>();

/** Calls `member.tick()` every `periodMs` until `stopTicking(member, periodMs)`; the timer never keeps the process alive. */
export function startTicking(member: Ticking, periodMs: number): void {
  let group = groups.get(periodMs);
  if (!group) {
    const members = new Set<Ticking>();
    const timer = setInterval(() => {
      for (const m of members) m.tick();
    }, periodMs);
    timer.unref();
    groups.set(periodMs, (group = { timer, members }));
  }
  group.members.add(member);
}

export function stopTicking(member: Ticking, periodMs: number): void {
  const group = groups.get(periodMs);
  if (!group || !group.members.delete(member) || group.members.size > 0) return;
  clearInterval(group.timer);
  groups.delete(periodMs);
}
