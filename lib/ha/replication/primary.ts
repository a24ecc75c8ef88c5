import { randomInt } from 'node:crypto';
import { monotonicMs } from '../../base/clock';
import {
  InSyncSet, IsrError, isrHas, isrNewerThan, replicaId, replicaKey, ANY_INCARNATION, withMember, withoutMembers,
} from '../../coordination/in-sync-set';
import type { IsrInspection, IsrRecord, VersionedIsr } from '../../coordination/in-sync-set';
import { RpcError } from '../../transport';
import { ZkError } from '../../zk';
import type { RpcConnectionOptions } from '../../transport';
import { Peer, PeerHost, PeerLimits } from './peer';
import type { Replica } from './replica';
import type { LogEntry } from './replicated-log';
import { commitIndex, laggards, requiredMembers } from './commit-rule';

export interface PrimaryOptions {
  readonly limits: PeerLimits;
  /** A backup that has not acknowledged an op within this long leaves the in-sync set. */
  readonly ackTimeoutMs: number;
  /** replicate() refuses (OVERLOADED) beyond this many ops not yet committed. */
  readonly maxPending: number;
  readonly connection: Omit<RpcConnectionOptions, 'url'>;
  /** The generation of the service our epoch counts in (the one we registered in). */
  readonly generation: string;
  /** Call meta of every replication call (the replication secret). */
  readonly callMeta: Readonly<Record<string, unknown>>;
  /** The replication secret, to check the members' proofs before sending them `callMeta`. */
  readonly secret: Uint8Array;
  /**
   * The lease check, right before applying and answering: a primary paused past its lease applies
   * nothing more (its ops wait, and fail when it is demoted; they are on the in-sync members).
   */
  readonly mayApply: () => boolean;
}

export type PrimaryEvent =
  | { kind: 'isr-shrunk'; removed: string[]; members: readonly string[]; index: number }
  | { kind: 'isr-expanded'; added: string; members: readonly string[] }
  | { kind: 'fenced'; detail: Record<string, unknown> }
  | { kind: 'peer'; detail: Record<string, unknown> };

interface Waiter {
  readonly index: number;
  readonly at: number;
  /** A replicate() of ours: it resolves only if the entry applied at `index` is the op we appended. */
  readonly own?: boolean;
  resolve(result: unknown): void;
  reject(error: RpcError): void;
}

/** results' mark for an index applied with another primary's entry (ours was truncated by a successor). */
const REPLACED = Symbol('replaced');

/** Why a member could not start serving as primary. */
export type ClaimOutcome = { ok: true } | { ok: false; reason: 'not-in-sync' | 'newer-epoch'; isr: IsrRecord };

/**
 * The primary's side of replication for one epoch: orders ops, ships them to every backup,
 * commits an op once every in-sync backup holds it, applies it, and then resolves the caller.
 * A backup that does not acknowledge within `ackTimeoutMs` is removed from the in-sync set in
 * ZooKeeper first (conditional write); only then does the commit go on without it. A backup that
 * has caught up is added back, and counts for commits from the moment its addition starts.
 */
export class PrimaryReplicator implements PeerHost {
  private readonly peers = new Map<string, Peer>();
  private waiters: Waiter[] = [];
  private waiterHead = 0;
  private isr: VersionedIsr | undefined;
  /** Members being added: they count for commits before the write lands. */
  private readonly joining = new Set<string>();
  /** Joiners whose add had its answer lost and could not be read back: the set may name them. */
  private readonly pinned = new Set<string>();
  private commit = 0;
  private isrChain: Promise<void> = Promise.resolve();
  private isrBusy = false;
  private checkTimer: NodeJS.Timeout | undefined;
  private guardGeneration = 0;
  private stopped = false;
  private readyValue = false;
  private readonly results = new Map<number, unknown>();
  /** A graceful handover: ops already ordered may still commit and apply until then (monotonic ms). */
  private handoverUntil = -Infinity;
  private handoverTimer: NodeJS.Timeout | undefined;
  /** This reign's mark on every entry it appends (LogEntry.reign): random, never 0 (the empty log's). */
  private readonly reign = randomInt(1, 2 ** 47);

  constructor(
    readonly replica: Replica,
    readonly epoch: number,
    private readonly set: InSyncSet,
    private readonly options: PrimaryOptions,
    private readonly emitEvent: (e: PrimaryEvent) => void,
  ) {
    replica.onApplied = (entry, result) => {
      if (this.waiterHead < this.waiters.length) this.results.set(entry.index, entry.epoch === epoch ? result : REPLACED);
    };
  }

  get commitIndex(): number {
    return this.commit;
  }
  get generation(): string {
    return this.options.generation;
  }
  get callMeta(): Readonly<Record<string, unknown>> {
    return this.options.callMeta;
  }
  get secret(): Uint8Array {
    return this.options.secret;
  }
  /** Serving: claimed the set and every backup of it holds every op. */
  get ready(): boolean {
    return this.readyValue && !this.stopped;
  }
  get members(): readonly string[] {
    return this.isr?.record.members ?? [];
  }
  get pendingOps(): number {
    return this.waiters.length - this.waiterHead;
  }

  /**
   * Takes the in-sync set for this epoch (only if we are in it and no newer epoch wrote it), then
   * applies every op in our log: a new primary serves only with every committed op applied (every
   * committed op is in every in-sync member's log, ours included).
   */
  async claim(): Promise<ClaimOutcome> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.set.read();
      const key = this.replica.key;
      if (current && isrNewerThan(current.record, this.epoch, this.options.generation)) return { ok: false, reason: 'newer-epoch', isr: current.record };
      if (current && !isrHas(current.record, key)) return { ok: false, reason: 'not-in-sync', isr: current.record };
      const wildcard = replicaKey(replicaId(key), ANY_INCARNATION);
      const members = current ? current.record.members.filter((m) => m !== wildcard && m !== key) : [];
      members.push(key);
      const next: IsrRecord = {
        epoch: this.epoch, members: members.sort(), committedIndex: Math.max(current?.record.committedIndex ?? 0, this.replica.log.lastIndex),
        ...(this.options.generation !== '' ? { generation: this.options.generation } : {}),
      };
      try {
        this.isr = await this.set.write(next, current);
        break;
      } catch (error) {
        if (error instanceof IsrError && error.code === 'ISR_CONFLICT' && attempt < 5) continue;
        throw error;
      }
    }
    this.replica.raiseEpoch(this.epoch, this.options.generation);
    this.commit = this.replica.log.lastIndex;
    this.replica.applyUpTo(this.commit);
    this.checkTimer = setInterval(() => this.checkLaggards(), Math.max(10, Math.floor(this.options.ackTimeoutMs / 4)));
    this.checkTimer.unref();
    this.guardIsr();
    return { ok: true };
  }

  /**
   * The set is ours to keep while we lead. Deleted or overwritten with data that does not validate
   * (an operator, a bug, a foreign writer), it is written back from our copy at once, conditioned
   * on what we saw: otherwise a crash of ours would leave no valid set, and the election would
   * either admit any member (no set: a stale one included) or stall (unreadable set).
   */
  private guardIsr(): void {
    // Only the newest chain of watch callbacks acts (a re-armed guard leaves older ones inert).
    const generation = ++this.guardGeneration;
    const onEvent = (): void => {
      if (this.stopped || generation !== this.guardGeneration) return;
      void this.set.inspect(onEvent).then((seen) => {
        if (this.stopped || generation !== this.guardGeneration || seen.state === 'ok') return;
        this.isrChain = this.isrChain.then(() => this.restoreIsr(seen));
      }, () => {
        if (!this.stopped) setTimeout(onEvent, 250).unref();
      });
    };
    onEvent();
  }

  private async restoreIsr(seen: Exclude<IsrInspection, { state: 'ok' }>): Promise<void> {
    if (this.stopped || !this.isr) return;
    let restored = false;
    try {
      this.isr = await this.set.restore(this.isr.record, seen.state === 'bad' ? seen.version : undefined);
      restored = true;
      this.emitEvent({ kind: 'peer', detail: { what: 'isr-restored', found: seen.state, ...(seen.state === 'bad' ? { problem: seen.error.message } : {}) } });
    } catch (error) {
      this.emitEvent({ kind: 'peer', detail: { what: 'isr-write-failed', message: String((error as Error)?.message ?? error) } });
      await new Promise((r) => setTimeout(r, 250));
    }
    // A missing node carried no watch, and a failed write leaves the damage in place: look again.
    if ((seen.state === 'missing' || !restored) && !this.stopped) this.guardIsr();
  }


  /**
   * Waits until every in-sync backup holds the whole log (or has been removed for not answering),
   * so that what we serve is on every in-sync member before the first answer.
   */
  async barrier(): Promise<void> {
    const last = this.replica.log.lastIndex;
    if (last > 0 && this.requiredLagging(last).length > 0) {
      await new Promise<void>((resolve, reject) => this.addWaiter({ index: last, at: monotonicMs(), resolve: () => resolve(), reject }));
    }
    this.readyValue = !this.stopped;
  }

  /** The backups: members of the service other than us, by URL. */
  setPeers(urls: readonly string[]): void {
    if (this.stopped) return;
    const wanted = new Set(urls);
    for (const [url, peer] of this.peers) {
      if (!wanted.has(url)) {
        peer.close();
        this.peers.delete(url);
      }
    }
    for (const url of wanted) {
      if (!this.peers.has(url)) this.peers.set(url, new Peer(url, this, this.options.limits, this.options.connection));
    }
  }

  /** `ctx.replicate(op)`: resolves with the op's apply() result once committed and applied here. */
  replicate(op: unknown): Promise<unknown> {
    if (!this.ready) return Promise.reject(new RpcError('NOT_PRIMARY', 'not serving as primary (replication not ready)', { notExecuted: true }));
    if (this.pendingOps >= this.options.maxPending) {
      return Promise.reject(new RpcError('OVERLOADED', `${this.pendingOps} replicated ops waiting (maxPending)`, { notExecuted: true }));
    }
    const entry = this.replica.log.append(this.epoch, op, this.reign);
    const p = new Promise<unknown>((resolve, reject) => this.addWaiter({ index: entry.index, at: monotonicMs(), own: true, resolve, reject }));
    if (this.peersRequired()) {
      for (const peer of this.peers.values()) peer.kick();
    } else {
      // No in-sync backup: committed at once, still shipped to the others so they catch up.
      this.advance();
      for (const peer of this.peers.values()) peer.kick();
    }
    return p;
  }

  /**
   * A graceful handover (stepDown, close): no new ops, but those already ordered still commit and
   * apply for up to `windowMs` — the resigning primary's lease node stays, renewed, until its
   * admitted calls have drained, so no successor acts meanwhile; then this replicator stops.
   */
  handover(windowMs: number): void {
    if (this.stopped) return;
    this.readyValue = false;
    this.handoverUntil = monotonicMs() + windowMs;
    this.handoverTimer = setTimeout(() => this.stop('handover window over'), windowMs);
    this.handoverTimer.unref();
    this.advance();
  }

  /** Ends this epoch's replication: ops waiting get UNAVAILABLE (their outcome is unknown). */
  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.handoverTimer) clearTimeout(this.handoverTimer);
    this.readyValue = false;
    if (this.checkTimer) clearInterval(this.checkTimer);
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    const error = new RpcError('UNAVAILABLE', `replication stopped (${reason}); the op may or may not be committed by the next primary`, {
      notExecuted: false, retryable: false,
    });
    for (let i = this.waiterHead; i < this.waiters.length; i++) this.waiters[i]!.reject(error);
    this.waiters = [];
    this.waiterHead = 0;
    this.results.clear();
    this.replica.onApplied = undefined;
  }

  // PeerHost

  progressed(peer: Peer): void {
    if (this.stopped) return;
    this.advance();
    this.maybeAdd(peer);
  }

  fenced(peer: Peer, error: RpcError): void {
    this.emitEvent({ kind: 'fenced', detail: { url: peer.url, message: error.message } });
    this.stop('a backup has seen a newer epoch');
  }

  report(kind: 'snapshot-sent' | 'peer-error' | 'peer-diverged', detail: Record<string, unknown>): void {
    this.emitEvent({ kind: 'peer', detail: { what: kind, ...detail } });
  }

  // Commit

  private addWaiter(w: Waiter): void {
    this.waiters.push(w);
    this.advance();
  }

  private peersRequired(): boolean {
    return requiredMembers(this.members, this.joining, this.replica.key).length > 0;
  }

  /** Keys of required backups that do not hold `index` yet. */
  private requiredLagging(index: number): string[] {
    return laggards(requiredMembers(this.members, this.joining, this.replica.key), this.matchByKey(), index);
  }

  private matchByKey(): Map<string, number> {
    const m = new Map<string, number>();
    for (const peer of this.peers.values()) if (peer.key !== undefined) m.set(peer.key, peer.match);
    return m;
  }

  /** Moves the commit index to the highest index every required backup holds, applies, resolves. */
  private advance(): void {
    if (this.stopped) return;
    const last = this.replica.log.lastIndex;
    const required = requiredMembers(this.members, this.joining, this.replica.key);
    const commit = required.length > 0 ? commitIndex(required, this.matchByKey(), last) : last;
    if (commit > this.commit && (this.options.mayApply() || monotonicMs() < this.handoverUntil)) {
      this.commit = commit;
      this.replica.applyUpTo(commit);
      for (const peer of this.peers.values()) peer.commitAdvanced();
    }
    const applied = this.replica.log.appliedIndex;
    while (this.waiterHead < this.waiters.length && this.waiters[this.waiterHead]!.index <= applied) {
      const w = this.waiters[this.waiterHead++]!;
      const known = this.results.has(w.index);
      const result = this.results.get(w.index);
      this.results.delete(w.index);
      // Our op was replaced (a successor's log overwrote it after we resigned) or reached us only
      // in a snapshot: it is not what was applied at that index, so it did not commit as ours.
      if (w.own && (!known || result === REPLACED)) {
        w.reject(new RpcError('UNAVAILABLE', `op at index ${w.index} was replaced by a newer primary's log: not committed`, { notExecuted: false }));
      } else {
        w.resolve(result);
      }
    }
    if (this.waiterHead > 1024 && this.waiterHead * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.waiterHead);
      this.waiterHead = 0;
    }
    if (this.handoverTimer !== undefined && this.pendingOps === 0) this.stop('handed over');
  }

  /** The oldest op waiting longer than ackTimeoutMs names the backups to remove. */
  private checkLaggards(): void {
    this.advance();
    if (this.stopped || this.isrBusy || this.waiterHead >= this.waiters.length) return;
    const oldest = this.waiters[this.waiterHead]!;
    let slow: string[];
    if (monotonicMs() - oldest.at >= this.options.ackTimeoutMs) {
      slow = this.requiredLagging(oldest.index);
    } else {
      // Sooner: every live member has answered and none is this in-sync one (e.g. the old primary after a failover).
      if (this.peers.size === 0 || [...this.peers.values()].some((p) => p.key === undefined)) return;
      const known = this.matchByKey();
      slow = requiredMembers(this.members, this.joining, this.replica.key).filter((k) => !known.has(k));
    }
    if (slow.length === 0) return;
    // A joiner the set cannot name yet is dropped without a write; a pinned one (its add's answer was
    // lost: the set may name it) only by a write that removes it.
    const joiningSlow = slow.filter((k) => this.joining.has(k) && !this.pinned.has(k) && !isrHas(this.isr!.record, k));
    for (const k of joiningSlow) this.joining.delete(k);
    const remove = slow.filter((k) => !joiningSlow.includes(k));
    if (remove.length === 0) {
      this.advance();
      return;
    }
    this.changeIsr((rec) => withoutMembers(rec, remove, this.epoch, this.commit), () => {
      for (const k of remove) {
        this.joining.delete(k);
        this.pinned.delete(k);
      }
      this.emitEvent({ kind: 'isr-shrunk', removed: remove, members: this.members, index: oldest.index });
    });
  }

  private maybeAdd(peer: Peer): void {
    const key = peer.key;
    if (key === undefined || this.isrBusy || !this.isr || isrHas(this.isr.record, key)) return;
    // Joining already, unless a lost answer left it pinned: then the add is tried again (and settles).
    if (this.joining.has(key) && !this.pinned.has(key)) return;
    if (peer.match < this.replica.log.lastIndex) return;
    // From now on commits wait for it too: by the time the set names it, it holds every commit.
    this.joining.add(key);
    this.changeIsr((rec) => withMember(rec, key, this.epoch, this.commit), () => {
      this.emitEvent({ kind: 'isr-expanded', added: key, members: this.members });
    }, (outcome) => {
      if (outcome === 'unknown') {
        // The set may name it: it keeps counting for commits until a write or a read settles it.
        this.pinned.add(key);
      } else if (outcome === 'known' || !this.pinned.has(key)) {
        // Our copy now says whether the set names it (it counts through the copy if so); or
        // nothing was sent for a key no earlier write may have added.
        this.joining.delete(key);
        this.pinned.delete(key);
      }
    });
  }

  /**
   * One set change at a time; the local copy changes only after ZooKeeper took the write. What
   * must hold at every instant: every member the set in ZooKeeper may name counts for commits
   * (our copy plus `joining` is a superset of it), or the election could promote a member without
   * every acknowledged write. So a write whose answer was lost (CONNECTION_LOSS, TIMEOUT: it may
   * have landed) changes nothing locally until a read says whether it landed; `always('unknown')`
   * tells the caller that it could not be told (an added member then stays counted, pinned).
   */
  private changeIsr(change: (r: IsrRecord) => IsrRecord, done: () => void, always?: (outcome: IsrChangeOutcome) => void): void {
    this.isrBusy = true;
    this.isrChain = this.isrChain.then(async () => {
      let outcome: IsrChangeOutcome = 'nothing';
      try {
        if (this.stopped || !this.isr) return;
        let current = this.isr;
        for (let attempt = 0; attempt < 3; attempt++) {
          const next = change(current.record);
          try {
            this.isr = await this.set.write(next, current);
            outcome = 'known';
            done();
            return;
          } catch (error) {
            let fresh: VersionedIsr | undefined;
            if (error instanceof ZkError && error.retryable) {
              // It may have landed: only a read tells (until then, `unknown`).
              outcome = 'unknown';
              fresh = await this.set.readThrough();
            } else if (error instanceof IsrError && error.code === 'ISR_CONFLICT') {
              fresh = await this.set.read();
            } else {
              throw error;
            }
            if (!fresh) {
              // Deleted: it names nobody now; guardIsr writes our copy back; this change is tried again at the next check.
              outcome = 'known';
              throw new IsrError('ISR_CONFLICT', 'the in-sync set is gone; restoring it', { path: this.set.path });
            }
            if (fresh.record.epoch !== this.epoch || (fresh.record.generation ?? this.options.generation) !== this.options.generation) {
              this.emitEvent({ kind: 'fenced', detail: { isrEpoch: fresh?.record.epoch, epoch: this.epoch } });
              this.stop('the in-sync set was taken by a newer epoch');
              return;
            }
            // Our copy is the set as read: every member it names counts for commits from here on.
            this.isr = fresh;
            outcome = 'known';
            if (sameIsr(fresh.record, next)) {
              done();
              return;
            }
            current = fresh;
          }
        }
      } catch (error) {
        // Lease lost or ZooKeeper unreachable: nothing is committed without the backup; tried again at the next check.
        this.emitEvent({ kind: 'peer', detail: { what: 'isr-write-failed', message: String((error as Error)?.message ?? error) } });
      } finally {
        always?.(outcome);
        this.isrBusy = false;
        this.advance();
      }
    });
  }

}

export type { LogEntry };

/**
 * What a set change established: `known` — our copy is what ZooKeeper holds after our last write
 * (it was answered, or read back); `unknown` — a write's answer was lost and no read settled it;
 * `nothing` — no write was sent and nothing was read (a lease check failed first, say).
 */
type IsrChangeOutcome = 'known' | 'unknown' | 'nothing';

/** The same set (an unknown write's outcome read back: only this primary writes it while it leads). */
function sameIsr(a: IsrRecord, b: IsrRecord): boolean {
  return a.epoch === b.epoch && a.committedIndex === b.committedIndex && a.members.length === b.members.length && a.members.every((m, i) => m === b.members[i]);
}
