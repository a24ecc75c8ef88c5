/**
 * Runs an async task one at a time, coalescing requests: one ZooKeeper event can reach several
 * watch closures at once, so requests made in the same tick become one run, and a request made
 * while a run is under way causes exactly one more run after it. A failed run is retried after
 * `retryMs` unless `onError` says not to. Used by MembershipView (refresh) and Election (evaluate).
 */
const RESOLVED = Promise.resolve();

export class SerialTask {
  private active = false;
  private runningNow = false;
  private dirty = false;
  private queued = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    /** One run; may finish synchronously (returns nothing) so that a run without I/O costs no promise. */
    private readonly body: () => Promise<void> | void,
    /** Told of a failed run; returns whether to retry. */
    private readonly onError: (error: unknown) => boolean,
    private readonly retryMs: number,
  ) {}

  start(): void {
    this.active = true;
  }

  stop(): void {
    this.active = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  schedule(): void {
    if (!this.active) return;
    if (this.runningNow) {
      this.dirty = true;
      return;
    }
    if (this.queued) return;
    this.queued = true;
    // A microtask, like queueMicrotask, without the async resource Node creates for each of those.
    RESOLVED.then(this.start_);
  }

  private readonly start_ = (): void => {
    this.queued = false;
    if (!this.active) return;
    if (this.runningNow) {
      this.dirty = true;
      return;
    }
    this.runningNow = true;
    this.run();
  };

  private readonly resume = (): void => {
    if (this.dirty && this.active) this.run();
    else this.runningNow = false;
  };

  private readonly failed = (error: unknown): void => {
    try {
      if (this.active && this.onError(error)) {
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.schedule(), this.retryMs);
        this.retryTimer.unref();
      }
    } finally {
      this.runningNow = false;
    }
  };

  /** Runs the body until no request came in meanwhile; synchronous runs loop here, async ones resume. */
  private run(): void {
    for (;;) {
      this.dirty = false;
      let pending: Promise<void> | void;
      try {
        pending = this.body();
      } catch (error) {
        this.failed(error);
        return;
      }
      if (pending !== undefined) {
        pending.then(this.resume, this.failed);
        return;
      }
      if (!(this.dirty && this.active)) {
        this.runningNow = false;
        return;
      }
    }
  }
}
