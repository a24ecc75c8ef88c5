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
  private idleWaiter: (() => void) | undefined;
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
    if (this.count === 0 && this.idleWaiter !== undefined) this.idleWaiter();
  }

  /** Stops admitting calls; resolves once none is in flight or after `graceMs`, whichever is first. */
  async close(graceMs: number): Promise<void> {
    this.closingFlag = true;
    if (this.count === 0 || graceMs <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.idleWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.idleWaiter = undefined;
  }

  /** Once every session is gone: no more sweeps. */
  stop(): void {
    this.sweeper.stop();
  }
}
