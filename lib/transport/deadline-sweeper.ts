import { monotonicMs } from '../base/clock';

/**
 * One timer for many deadlines. Instead of a timer per call (which costs throughput), the owner
 * reports each new deadline; the sweeper keeps a single timer armed for the earliest one it
 * knows of. When it fires, `sweep(now)` expires what is due and returns the earliest remaining
 * deadline (or Infinity). With uniform timeouts new deadlines are later than the armed one, so
 * the common path is one comparison.
 */
export class DeadlineSweeper {
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly sweep: (now: number) => number) {}

  /** Called for every new deadline (monotonic ms, lib/base/clock). */
  track(deadline: number): void {
    // 1 ms slack: a timer cannot be more precise, and it saves re-arming for bursts.
    if (deadline >= this.armedFor - 1) return;
    this.arm(deadline);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(deadline: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = deadline;
    const delay = Math.min(Math.max(deadline - monotonicMs(), 0) + 1, 0x7fffffff);
    this.timer = setTimeout(this.fire, delay);
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    const next = this.sweep(monotonicMs());
    if (next !== Infinity) this.arm(next);
  };
}
