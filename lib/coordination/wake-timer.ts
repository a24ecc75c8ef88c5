import { monotonicMs } from '../base/clock';

/**
 * The election's one pending wake-up (monotonic): the earliest request wins. A wake at the
 * observer's takeover deadline (or the backup observer's next read of the head's lease) is marked
 * as such, so the election may skip listing the line again when nothing was heard before it
 * (election.ts, evaluate()).
 */
export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private at = Number.POSITIVE_INFINITY;
  private takeover = false;

  constructor(private readonly fire: (takeover: boolean) => void) {}

  /** Wakes at `at` unless an earlier wake is pending. */
  request(at: number, takeover = false): void {
    if (at >= this.at) return;
    this.clear();
    this.at = at;
    this.takeover = takeover;
    this.timer = setTimeout(() => {
      const forTakeover = this.takeover;
      this.timer = undefined;
      this.at = Number.POSITIVE_INFINITY;
      this.takeover = false;
      this.fire(forTakeover);
    }, Math.max(0, Math.ceil(at - monotonicMs())));
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
    this.takeover = false;
  }
}
