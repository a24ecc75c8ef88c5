import type { AdmitHold } from '../transport';

/** The longest a call is held at a member about to become primary (see holdWindowMs). */
export const MAX_HOLD_MS = 100;

/**
 * How long the member about to become primary holds a call: a fifth of the lease, at most 100 ms.
 * A graceful handover elects the successor within ~15–30 ms of the release on a quiet machine
 * (≤ 80 ms measured under heavy load), so 100 ms covers it; a call sent to a member that does not
 * become primary pays at most that before its NOT_PRIMARY, and a short lease (fast failover) keeps
 * that cost a small share of its failover time.
 */
export function holdWindowMs(leaseMs: number): number {
  return Math.min(MAX_HOLD_MS, leaseMs / 5);
}

/**
 * Calls held at the member about to become primary share one waiter per window: it is released
 * when the member serves, stops expecting to (demotion, close), or when the window ends — one timer
 * per window, never one per call. Released calls are asked again, and refused if still not admitted.
 */
export class HoldWindow {
  private current: { readonly hold: AdmitHold; readonly release: () => void; readonly timer: NodeJS.Timeout } | undefined;

  constructor(readonly windowMs: number) {}

  /** The current window's hold (opening one if none is open). */
  hold(): AdmitHold {
    if (this.current !== undefined) return this.current.hold;
    let release!: () => void;
    const holdUntil = new Promise<void>((resolve) => (release = resolve));
    const timer = setTimeout(() => this.release(), this.windowMs);
    timer.unref();
    this.current = { hold: Object.freeze({ holdUntil }), release, timer };
    return this.current.hold;
  }

  /** Ends the current window: its calls are asked again now. */
  release(): void {
    const current = this.current;
    if (current === undefined) return;
    this.current = undefined;
    clearTimeout(current.timer);
    current.release();
  }
}
