/**
 * Runs an async task one at a time, coalescing requests: one ZooKeeper event can reach several
 * watch closures at once, so requests made in the same tick become one run, and a request made
 * while a run is under way causes exactly one more run after it. A failed run is retried after
 * `retryMs` unless `onError` says not to. Used by MembershipView (refresh) and Election (evaluate).
 */
export class SerialTask {
  private active = false;
  private runningNow = false;
  private dirty = false;
  private queued = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly body: () => Promise<void>,
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
    queueMicrotask(() => {
      this.queued = false;
      if (!this.active) return;
      if (this.runningNow) {
        this.dirty = true;
        return;
      }
      this.runningNow = true;
      void this.loop();
    });
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.dirty = false;
        await this.body();
      } while (this.dirty && this.active);
    } catch (error) {
      if (this.active && this.onError(error)) {
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.schedule(), this.retryMs);
        this.retryTimer.unref();
      }
    } finally {
      this.runningNow = false;
    }
  }
}
