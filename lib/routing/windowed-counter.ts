/**
 * A sum over a sliding time window, kept as a ring of equal time buckets plus a running total
 * (Finagle's `WindowedAdder`). `add` and `sum` are O(1) amortised: advancing the clock clears at
 * most `buckets` slots. The window covers the current bucket and the `buckets - 1` before it.
 * A clock that goes backwards is treated as standing still; a non-finite time is ignored.
 */
export class WindowedCounter {
  private readonly slots: Float64Array;
  private readonly bucketMs: number;
  private lastBucket = Number.NEGATIVE_INFINITY;
  private total = 0;

  constructor(windowMs: number, buckets: number) {
    this.slots = new Float64Array(buckets);
    this.bucketMs = windowMs / buckets;
  }

  add(nowMs: number, amount: number): void {
    this.advance(nowMs);
    if (this.lastBucket === Number.NEGATIVE_INFINITY) return;
    const n = this.slots.length;
    const idx = ((this.lastBucket % n) + n) % n;
    this.slots[idx] += amount;
    this.total += amount;
  }

  sum(nowMs: number): number {
    this.advance(nowMs);
    return this.total;
  }

  reset(): void {
    this.slots.fill(0);
    this.total = 0;
  }

  private advance(nowMs: number): void {
    if (!Number.isFinite(nowMs)) return;
    const bucket = Math.floor(nowMs / this.bucketMs);
    const last = this.lastBucket;
    if (bucket <= last) return;
    const n = this.slots.length;
    if (bucket - last >= n) {
      this.reset();
    } else {
      for (let b = last + 1; b <= bucket; b++) {
        const idx = ((b % n) + n) % n;
        this.total -= this.slots[idx];
        this.slots[idx] = 0;
      }
    }
    this.lastBucket = bucket;
  }
}
