/**
 * The arrival stamps of bench:scale's watcher processes (scale-watchers.ts, scale-raw-watchers.ts):
 * process.hrtime.bigint() (CLOCK_MONOTONIC, the parent's clock) per client per change key, and
 * {seen: key} to the parent once all `count` clients of this process have it.
 */
export class Arrivals {
  /** key → arrival stamps (ns), one per client. */
  private readonly stamps = new Map<string, bigint[]>();

  constructor(private readonly count: number, private readonly send: (message: object) => void) {}

  arrived(key: string): void {
    const t = process.hrtime.bigint();
    let list = this.stamps.get(key);
    if (!list) this.stamps.set(key, (list = []));
    list.push(t);
    if (list.length === this.count) this.send({ seen: key });
  }

  clear(): void {
    this.stamps.clear();
  }

  /** For the report message: stamps as decimal strings (IPC cannot carry bigints). */
  toJSON(): Record<string, string[]> {
    return Object.fromEntries([...this.stamps].map(([k, v]) => [k, v.map(String)]));
  }
}
