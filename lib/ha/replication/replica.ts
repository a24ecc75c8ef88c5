import { pack, unpack } from 'msgpackr';
import { RpcError } from '../../transport';
import { ReplicatedLog } from './replicated-log';
import type { LogEntry } from './replicated-log';
import {
  AppendParams, AppendResult, isIndex, isObject, SnapshotParams, SnapshotResult, StatusResult, WireEntry,
} from './protocol';

/**
 * The user's replicated state machine. `apply` must be deterministic and must not throw: every
 * member applies the same ops in the same order and must reach the same state. Ops and snapshots
 * travel as MessagePack.
 */
export interface ReplicatedState<Op = unknown, Snapshot = unknown> {
  apply(op: Op): unknown;
  snapshot(): Snapshot;
  restore(snapshot: Snapshot): void;
}

export interface ReplicaLimits {
  /** Applied entries kept for backups a little behind (older ones: snapshot). */
  readonly retainEntries: number;
  /** A snapshot larger than this is refused. */
  readonly maxSnapshotBytes: number;
}

export type ReplicaFault = (kind: 'apply-error' | 'stale-epoch' | 'snapshot-restored' | 'diverged', detail: Record<string, unknown>) => void;

interface Assembly {
  readonly id: string;
  readonly index: number;
  readonly reign: number;
  readonly epoch: number;
  readonly buffer: Buffer;
  received: number;
}

/**
 * One member's copy of the replicated state: its log, its state machine and the highest epoch it
 * has verified. As a backup it takes appends and snapshots that Replication has let through (sent
 * with the secret, from the epoch its ZooKeeper view acknowledges), still refusing older epochs
 * (FENCED); on a newer epoch it drops what it had not applied, since only applied (committed) ops
 * are sure to be in the new primary's log.
 */
export class Replica {
  readonly log: ReplicatedLog;
  private epochValue = 0;
  private generationValue = '';
  private assembly: Assembly | undefined;
  /** The result of the last apply of each index still waited for (primary side). */
  onApplied: ((entry: LogEntry, result: unknown) => void) | undefined;

  constructor(
    readonly key: string,
    private readonly state: ReplicatedState,
    private readonly limits: ReplicaLimits,
    private readonly fault: ReplicaFault,
  ) {
    this.log = new ReplicatedLog(limits.retainEntries);
  }

  get epoch(): number {
    return this.epochValue;
  }
  /** The generation of the service `epoch` counts in. */
  get generation(): string {
    return this.generationValue;
  }

  status(): StatusResult {
    const log = this.log;
    return {
      key: this.key, epoch: this.epochValue, generation: this.generationValue, lastIndex: log.lastIndex, appliedIndex: log.appliedIndex,
      lastReign: log.reignAt(log.lastIndex), appliedReign: log.reignAt(log.appliedIndex),
    };
  }

  /**
   * Raises the epoch (a new primary exists, or we are it) — only ever to an epoch verified in
   * ZooKeeper (see sender-check.ts). A new generation restarts the count. The ops not applied yet
   * stay: they may be committed (the old primary counted us), and the new primary's probe keeps
   * those its own log holds with the same reign; the rest are replaced entry by entry (accept).
   * Dropping them here lost committed writes if the new primary died before resending them.
   */
  raiseEpoch(epoch: number, generation = this.generationValue): void {
    if (generation === this.generationValue && epoch <= this.epochValue) return;
    this.epochValue = epoch;
    this.generationValue = generation;
    this.assembly = undefined;
  }

  /** Applies entries up to `index` (committed) in order. */
  applyUpTo(index: number): void {
    this.log.applyUpTo(index, (entry) => {
      let result: unknown;
      try {
        result = this.state.apply(entry.op);
      } catch (error) {
        // The op is applied everywhere or nowhere: a throwing apply is the user's bug, reported, and counts as applied.
        this.fault('apply-error', { index: entry.index, message: String((error as Error)?.message ?? error) });
        result = undefined;
      }
      this.onApplied?.(entry, result);
    });
  }

  /** A snapshot of the state at the applied index, encoded. */
  takeSnapshot(): { index: number; reign: number; bytes: Buffer } {
    const index = this.log.appliedIndex;
    // The applied entry is always held, or is the base the log was compacted or restored to.
    return { index, reign: this.log.reignAt(index)!, bytes: pack(this.state.snapshot()) };
  }

  /** `$repl.append` on a backup. */
  onAppend(params: unknown): AppendResult {
    if (!isObject(params) || !isIndex(params.epoch) || !Array.isArray(params.entries) || !isIndex(params.commit)
      || !isIndex(params.prevIndex) || !isIndex(params.prevReign)) {
      throw new RpcError('INVALID_ARGUMENT', 'bad $repl.append params');
    }
    const p = params as unknown as AppendParams;
    this.fence(p.epoch, p.generation);
    this.raiseEpoch(p.epoch, p.generation);
    const entries: LogEntry[] = [];
    for (const w of p.entries) {
      if (!Array.isArray(w) || !isIndex(w[0]) || !isIndex(w[1]) || !isIndex(w[3])) throw new RpcError('INVALID_ARGUMENT', 'bad $repl.append entry');
      entries.push({ index: w[0], epoch: w[1], op: w[2], reign: w[3] });
    }
    const last = this.log.accept(p.prevIndex, p.prevReign, entries);
    if (last === 'diverged') {
      this.fault('diverged', { epoch: p.epoch, prevIndex: p.prevIndex, appliedIndex: this.log.appliedIndex });
      return { key: this.key, match: this.log.appliedIndex, diverged: true };
    }
    if (last === 'gap') return { key: this.key, match: this.log.lastIndex, gap: true };
    // Only what the batch proved shared: a later entry we hold may be another primary's.
    this.applyUpTo(Math.min(p.commit, last));
    return { key: this.key, match: last };
  }

  /** `$repl.snapshot` on a backup: one chunk of a transfer; the last one restores the state. */
  onSnapshot(params: unknown): SnapshotResult {
    if (!isObject(params) || !isIndex(params.epoch) || typeof params.id !== 'string' || !isIndex(params.index) || !isIndex(params.reign)
      || !isIndex(params.total) || !isIndex(params.offset) || !(params.chunk instanceof Uint8Array)) {
      throw new RpcError('INVALID_ARGUMENT', 'bad $repl.snapshot params');
    }
    const p = params as unknown as SnapshotParams;
    this.fence(p.epoch, p.generation);
    this.raiseEpoch(p.epoch, p.generation);
    if (p.total > this.limits.maxSnapshotBytes) {
      throw new RpcError('PAYLOAD_TOO_LARGE', `snapshot of ${p.total} bytes exceeds maxSnapshotBytes ${this.limits.maxSnapshotBytes}`);
    }
    let a = this.assembly;
    if (a === undefined || a.id !== p.id || a.epoch !== p.epoch) {
      if (p.offset !== 0) return { key: this.key, received: 0 };
      a = { id: p.id, index: p.index, reign: p.reign, epoch: p.epoch, buffer: Buffer.allocUnsafe(p.total), received: 0 };
      this.assembly = a;
    }
    if (p.offset !== a.received) return { key: this.key, received: a.received };
    if (p.offset + p.chunk.length > p.total) throw new RpcError('INVALID_ARGUMENT', 'snapshot chunk past its total');
    a.buffer.set(p.chunk, p.offset);
    a.received += p.chunk.length;
    if (a.received < p.total) return { key: this.key, received: a.received };
    this.assembly = undefined;
    let snapshot: unknown;
    try {
      snapshot = unpack(a.buffer);
    } catch (error) {
      throw new RpcError('INVALID_ARGUMENT', `snapshot does not decode: ${(error as Error).message}`);
    }
    this.state.restore(snapshot);
    this.log.resetTo(a.index, a.reign);
    this.fault('snapshot-restored', { index: a.index, bytes: p.total, epoch: p.epoch });
    return { key: this.key, received: a.received, match: this.log.lastIndex };
  }

  private fence(epoch: number, generation = this.generationValue): void {
    if (generation === this.generationValue && epoch < this.epochValue) {
      this.fault('stale-epoch', { epoch, seen: this.epochValue });
      throw new RpcError('FENCED', `op from epoch ${epoch} refused: epoch ${this.epochValue} is newer`, { retryable: false, notExecuted: true });
    }
  }
}

/** Log entries as wire tuples. */
export function toWire(entries: readonly LogEntry[]): WireEntry[] {
  const out: WireEntry[] = new Array<WireEntry>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    out[i] = [e.index, e.epoch, e.op, e.reign];
  }
  return out;
}
