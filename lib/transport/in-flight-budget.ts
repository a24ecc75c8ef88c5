import { DeadlineSweeper } from './deadline-sweeper';

/**
 * The server-wide budget every session draws its calls from: at most `max` calls in flight, none
 * once the server is closing, and one shared sweeper timer for their deadlines. A session takes
 * a slot per call (`acquire`) and gives it back when the call is decided (`release`); that is all
 * it needs to know of the server.
 */
export class InFlightBudget {
  private count = 0;
  private closingFlag = false;
  private idleWaiters: (() => void)[] = [];
  private readonly sweeper: DeadlineSweeper;

  constructor(
    readonly max: number,
    /** Expires what is due at `now` (monotonic ms) across the sessions; returns the earliest deadline left. */
    sweep: (now: number) => number,
  ) {
    this.sweeper = new DeadlineSweeper(sweep);
  }

  get inFlight(): number {
    return this.count;
  }

  /** Set by `close()`: new calls are refused as UNAVAILABLE. */
  get closing(): boolean {
    return this.closingFlag;
  }

  /** Takes a slot for a call due at `deadline` (monotonic ms); false when the server is full. */
  acquire(deadline: number): boolean {
    if (this.count >= this.max) return false;
    this.count++;
    this.sweeper.track(deadline);
    return true;
  }

  release(): void {
    this.count--;
    if (this.count === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * Resolves once no call is in flight (at once if none is), or after `waitMs`, whichever is first:
   * a primary handing over lets its admitted calls finish, and goes on the moment the last one does.
   */
  async idle(waitMs: number): Promise<void> {
    if (this.count === 0 || waitMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    let wake!: () => void;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, waitMs);
      this.idleWaiters.push(resolve);
    });
    clearTimeout(timer);
    const at = this.idleWaiters.indexOf(wake);
    if (at !== -1) this.idleWaiters.splice(at, 1);
  }

  /** Stops admitting calls; resolves once none is in flight or after `graceMs`, whichever is first. */
  async close(graceMs: number): Promise<void> {
    this.closingFlag = true;
    await this.idle(graceMs);
  }

  /** Once every session is gone: no more sweeps. */
  stop(): void {
    this.sweeper.stop();
  }
}
