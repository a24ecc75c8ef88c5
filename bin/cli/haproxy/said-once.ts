/**
 * What the bridge last said about each server, so that a condition that holds on every sync (a
 * refusal, an error, a deferral) is logged once, and again only when it changes. Bounded: past
 * 10 000 servers it starts over (a line said twice, never memory without end).
 */
export class SaidOnce {
  private readonly said = new Map<string, string>();

  /** True when `message` is news for `name` (it is then remembered). */
  say(name: string, message: string): boolean {
    if (this.said.get(name) === message) return false;
    if (this.said.size > 10_000) this.said.clear();
    this.said.set(name, message);
    return true;
  }

  forget(name: string): void {
    this.said.delete(name);
  }

  /** Forgets every server `keep` does not name. */
  prune(keep: (name: string) => boolean): void {
    for (const name of this.said.keys()) if (!keep(name)) this.said.delete(name);
  }
}
