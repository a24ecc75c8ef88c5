import { monotonicMs } from '../base/clock';
import { integerInRange, positiveNumber } from '../base/options';
import { describeUntrusted, truncateText } from '../base/untrusted';

export interface ReportLimiterOptions {
  /** Length of one counting interval. Default 10 000 ms. */
  readonly intervalMs?: number;
  /** Occurrences of one key reported in full per interval; the rest are only counted. Default 5. */
  readonly burst?: number;
  /** Longest string kept in a report's detail. Default 512 characters. */
  readonly maxDetailChars?: number;
}

/** What a key's suppressed occurrences add up to at the end of an interval. */
export interface SuppressedSummary {
  readonly key: string;
  readonly suppressed: number;
  readonly intervalMs: number;
}

interface Window {
  startedAt: number;
  admitted: number;
  suppressed: number;
}

/**
 * Rate limiting for reports an outsider can trigger (bad frames, bad znode data, bad replies):
 * per key, the first `burst` occurrences of each interval are reported in full, the rest only
 * counted, and one summary per key says how many were left out. So 20 001 bad frames make a
 * handful of log lines, not 20 001. Keys should be few (a kind and a code, never peer data).
 */
export class ReportLimiter {
  readonly intervalMs: number;
  readonly burst: number;
  readonly maxDetailChars: number;
  private readonly windows = new Map<string, Window>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    opts: ReportLimiterOptions,
    private readonly onSummary: (summary: SuppressedSummary) => void,
    private readonly now: () => number = monotonicMs,
  ) {
    this.intervalMs = positiveNumber('intervalMs', opts.intervalMs, 10_000);
    this.burst = integerInRange('burst', opts.burst, 0, 1e6, 5);
    this.maxDetailChars = integerInRange('maxDetailChars', opts.maxDetailChars, 16, 1e6, 512);
  }

  /** True when this occurrence of `key` should be reported in full; false: counted for the summary. */
  admit(key: string): boolean {
    const now = this.now();
    let w = this.windows.get(key);
    if (w !== undefined && now - w.startedAt >= this.intervalMs) {
      this.close(key, w);
      w = undefined;
    }
    if (w === undefined) {
      w = { startedAt: now, admitted: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.admitted < this.burst) {
      w.admitted++;
      return true;
    }
    w.suppressed++;
    this.arm();
    return false;
  }

  /** Emits the summaries of everything suppressed so far and starts afresh (tests, shutdown). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [key, w] of this.windows) this.close(key, w);
    this.windows.clear();
  }

  /**
   * A copy of `detail` fit for a log line: strings cut to maxDetailChars and made printable,
   * nested values described rather than serialised, at most 32 keys.
   */
  truncate(detail: Readonly<Record<string, unknown>>, depth = 0): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, v] of Object.entries(detail)) {
      if (++n > 32) {
        out.truncatedKeys = Object.keys(detail).length - 32;
        break;
      }
      const key = truncateText(k, 64);
      if (typeof v === 'string') out[key] = truncateText(v, this.maxDetailChars);
      else if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
      else if (depth === 0 && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) out[key] = this.truncate(v as Record<string, unknown>, 1);
      else out[key] = describeUntrusted(v);
    }
    return out;
  }

  private close(key: string, w: Window): void {
    this.windows.delete(key);
    if (w.suppressed === 0) return;
    try {
      this.onSummary({ key, suppressed: w.suppressed, intervalMs: Math.round(this.now() - w.startedAt) });
    } catch {
      // A failing sink must not break the caller.
    }
  }

  /** One timer for all keys, only while something is suppressed, so summaries come even if the flood stops. */
  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = this.now();
      for (const [key, w] of this.windows) if (now - w.startedAt >= this.intervalMs) this.close(key, w);
      if ([...this.windows.values()].some((w) => w.suppressed > 0)) this.arm();
    }, this.intervalMs);
    this.timer.unref();
  }
}
