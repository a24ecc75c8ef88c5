/**
 * One replicated op: its place in the log, the epoch of the primary that ordered it, and that
 * primary's reign — a random number it drew when it took office, unique in practice even across
 * generations (epochs restart when ZooKeeper loses its data). Two logs holding an entry with the
 * same index and reign hold the same entries up to it (the log-matching property, see
 * docs/replication.md): a primary appends each index once per reign, and a backup takes entries
 * only after an entry it holds with the index and reign the primary names (`prev`).
 */
export interface LogEntry {
  readonly index: number;
  readonly epoch: number;
  readonly op: unknown;
  readonly reign: number;
}

/**
 * The in-memory log of ops, on the primary and on every backup. Indexes are global (they keep
 * growing across epochs). Entries up to `appliedIndex` are in the state machine; the log keeps a
 * bounded tail of them for backups that are a little behind, and drops older ones (a backup that
 * needs one gets a snapshot instead). Entries after `appliedIndex` are not applied yet (on the
 * primary: waiting for the in-sync set; on a backup: waiting for the primary's commit index).
 */
export class ReplicatedLog {
  private entries: LogEntry[] = [];
  /** Index of entries[0]; entries cover [first, first + length). */
  private first = 1;
  /** Reign of the entry at first - 1 (the snapshot or the last compacted entry); 0 for the empty log. */
  private baseReign = 0;
  private applied = 0;
  /** Next index each backup being caught up still needs: compaction keeps those entries. */
  private readonly holds = new Map<object, number>();

  /**
   * `retain` applied entries are always kept; entries a backup still needs (see `hold`) are kept too,
   * up to `maxHeld` entries in all, so memory stays bounded: a backup further behind than that gets
   * another snapshot.
   */
  constructor(private readonly retain: number, private readonly maxHeld = Math.max(100_000, retain * 10)) {}

  /**
   * Keeps entries from `nextIndex` on for `owner` (a backup that just restored a snapshot and needs
   * the tail written meanwhile); undefined releases. Without it, a primary writing faster than a
   * snapshot travels would compact the tail away every time and the backup would never catch up.
   */
  hold(owner: object, nextIndex: number | undefined): void {
    if (nextIndex === undefined) this.holds.delete(owner);
    else this.holds.set(owner, nextIndex);
  }

  get lastIndex(): number {
    return this.first + this.entries.length - 1;
  }
  /** Lowest index still held (lastIndex + 1 when empty). */
  get firstIndex(): number {
    return this.first;
  }
  get appliedIndex(): number {
    return this.applied;
  }
  get length(): number {
    return this.entries.length;
  }
  /** Entries held but not applied. */
  get pending(): number {
    return this.lastIndex - this.applied;
  }

  get(index: number): LogEntry | undefined {
    return index >= this.first ? this.entries[index - this.first] : undefined;
  }

  /** The reign of the entry at `index` (0 at index 0); undefined when not held (compacted, or past the end). */
  reignAt(index: number): number | undefined {
    if (index === this.first - 1) return this.baseReign;
    return this.get(index)?.reign;
  }

  /** The primary's append: the next index. */
  append(epoch: number, op: unknown, reign: number): LogEntry {
    const entry: LogEntry = { index: this.lastIndex + 1, epoch, op, reign };
    this.entries.push(entry);
    return entry;
  }

  /**
   * A backup's append of entries the primary sent after its entry `prevIndex` of reign
   * `prevReign`. 'gap' when we do not hold prevIndex; 'diverged' when we hold another entry there
   * or at any index the batch covers and it is applied (only a snapshot repairs that); an
   * unapplied entry that differs is dropped with everything after it, and the primary's taken.
   * Entries already held with the same reign are skipped (a resend). Returns the index of the
   * batch's last entry: what we now provably share with the primary — not our last index, since
   * entries after the batch may be another primary's, unapplied, not yet replaced.
   */
  accept(prevIndex: number, prevReign: number, entries: readonly LogEntry[]): number | 'gap' | 'diverged' {
    if (prevIndex > this.lastIndex) return 'gap';
    const held = this.reignAt(prevIndex);
    if (held === undefined) return prevIndex < this.first ? 'diverged' : 'gap';
    if (held !== prevReign) {
      if (prevIndex <= this.applied) return 'diverged';
      this.truncateAfter(prevIndex - 1);
      return 'gap';
    }
    let expected = prevIndex + 1;
    for (const e of entries) {
      if (e.index !== expected++) return 'gap';
      if (e.index <= this.lastIndex) {
        if (this.get(e.index)?.reign === e.reign) continue;
        if (e.index <= this.applied) return 'diverged';
        this.truncateAfter(e.index - 1);
      }
      this.entries.push(e);
    }
    return prevIndex + entries.length;
  }

  /** Drops the entries after `index` (never an applied one). */
  private truncateAfter(index: number): void {
    const keep = Math.max(index, this.applied);
    if (keep < this.lastIndex) this.entries.length = keep - this.first + 1;
  }

  /** Up to `max` entries from `from` (at most `maxBytes` of ops, estimated by `sizeOf`); undefined if `from` was dropped. */
  slice(from: number, max: number): LogEntry[] | undefined {
    if (from < this.first) return undefined;
    const start = from - this.first;
    return this.entries.slice(start, start + max);
  }

  /** Marks entries up to `index` applied, calling `apply` on each in order. */
  applyUpTo(index: number, apply: (entry: LogEntry) => void): void {
    const upTo = Math.min(index, this.lastIndex);
    while (this.applied < upTo) {
      const entry = this.get(this.applied + 1)!;
      this.applied++;
      apply(entry);
    }
    this.compact();
  }

  /** Replaces everything by a snapshot taken at `index`, whose entry there was of `reign` (a backup catching up). */
  resetTo(index: number, reign: number): void {
    this.entries = [];
    this.first = index + 1;
    this.baseReign = reign;
    this.applied = index;
  }

  /** Keeps at most `retain` applied entries (log truncation after snapshots: a snapshot is taken on demand). */
  private compact(): void {
    let keepFrom = this.applied - this.retain + 1;
    // A hold below `first` asks for entries already gone (that backup gets a snapshot): ignore it.
    for (const next of this.holds.values()) if (next >= this.first && next < keepFrom) keepFrom = next;
    keepFrom = Math.max(keepFrom, this.applied - this.maxHeld + 1);
    const excess = keepFrom - this.first;
    // Splice in batches so the cost is amortised, not paid on every apply.
    if (excess > 0 && (excess >= 1024 || excess >= this.retain)) {
      this.baseReign = this.entries[excess - 1]!.reign;
      this.entries.splice(0, excess);
      this.first += excess;
    }
  }
}
