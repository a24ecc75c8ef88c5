import { randomUUID } from 'crypto';
import { RpcConnection, RpcError } from '../../transport';
import type { RpcConnectionOptions } from '../../transport';
import { toWire } from './replica';
import { isUnverified, proofValid } from './sender-check';
import type { Replica } from './replica';
import {
  AppendResult, HelloResult, isIndex, isObject, METHOD_APPEND, METHOD_HELLO, METHOD_SNAPSHOT, METHOD_STATUS, SnapshotResult, StatusResult,
} from './protocol';

/** Pause before resending a call the backup could not verify yet (its view is a notification behind). */
const UNVERIFIED_RETRY_MS = 15;
/** Pause before challenging again a member that could not prove it holds the secret. */
const UNPROVEN_RETRY_MS = 5000;

export interface PeerLimits {
  /** Entries per append. */
  readonly batchEntries: number;
  /** Bytes per snapshot chunk. */
  readonly chunkBytes: number;
  /** Deadline of one replication call. */
  readonly callTimeoutMs: number;
  /** Pause after a failed call. */
  readonly retryMs: number;
}

export interface PeerHost {
  readonly replica: Replica;
  /** The epoch we ship under, and the generation of the service it counts in. */
  readonly epoch: number;
  readonly generation: string;
  /** Call meta of every replication call: the replication secret. */
  readonly callMeta: Readonly<Record<string, unknown>>;
  /** The secret itself, to check the backup's proof before sending it `callMeta`. */
  readonly secret: Uint8Array;
  /** The commit index the backups may apply up to. */
  readonly commitIndex: number;
  /** A peer's match index moved (or it became known). */
  progressed(peer: Peer): void;
  /** A backup has seen a newer epoch: we are not the primary any more. */
  fenced(peer: Peer, error: RpcError): void;
  /** A snapshot transfer started/ended (for reports). */
  report(kind: 'snapshot-sent' | 'peer-error' | 'peer-diverged', detail: Record<string, unknown>): void;
}

/**
 * The primary's link to one backup: one connection and one call in flight at a time, each
 * carrying every entry the backup lacks (up to a batch), so a busy primary sends fewer, larger
 * appends. A backup too far behind (its next entry was dropped from the log) gets a snapshot in
 * chunks, then the tail.
 */
export class Peer {
  readonly conn: RpcConnection;
  /** Replica key, once the backup has answered. */
  key: string | undefined;
  /** Highest index the backup is known to hold; -1 = unknown (probe first). */
  match = -1;
  /** The backup follows another history (see AppendResult.diverged): it gets a snapshot next. */
  private needsSnapshot = false;
  /** Gaps answered in a row: a backup that keeps answering one is probed again on the retry pause, not at once. */
  private gapStreak = 0;
  /** Entries per append batch after a batch too large for one frame (halved, then doubled back). */
  private batchLimit = Number.POSITIVE_INFINITY;
  private sentCommit = 0;
  private running = false;
  private closed = false;
  private commitTimer: NodeJS.Timeout | undefined;
  private unverifiedStreak = 0;
  /** Connections made so far, and the one whose far end proved it holds the secret. */
  private ups = 0;
  private provenUp = -1;

  constructor(
    readonly url: string,
    private readonly host: PeerHost,
    private readonly limits: PeerLimits,
    connection: Omit<RpcConnectionOptions, 'url'>,
  ) {
    this.conn = new RpcConnection({ ...connection, url });
    this.conn.on('fault', () => undefined);
    this.conn.on('down', () => {
      this.match = -1;
    });
    this.conn.on('up', () => {
      this.ups++;
      this.kick();
    });
    this.conn.connect().catch(() => undefined);
  }

  /** Something to send (a new entry or a new commit index): start the loop if it is idle. */
  kick(): void {
    if (this.running || this.closed) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
    });
  }

  /** Commit indexes alone travel a little later, folded into the next append when there is one. */
  commitAdvanced(): void {
    if (this.commitTimer !== undefined || this.closed) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      this.kick();
    }, 20);
    this.commitTimer.unref();
  }

  close(): void {
    this.closed = true;
    this.host.replica.log.hold(this, undefined);
    if (this.commitTimer) clearTimeout(this.commitTimer);
    void this.conn.close();
  }

  private async loop(): Promise<void> {
    const log = this.host.replica.log;
    while (!this.closed) {
      if (this.conn.state !== 'up') return; // 'up' kicks again
      try {
        if (this.provenUp !== this.ups) {
          await this.challenge();
          continue;
        }
        if (this.match < 0) {
          await this.probe();
          continue;
        }
        const behind = this.match < log.lastIndex;
        if (!behind && this.sentCommit >= Math.min(this.host.commitIndex, this.match)) return;
        if (this.needsSnapshot || this.match + 1 < log.firstIndex) {
          await this.sendSnapshot();
          continue;
        }
        await this.append();
      } catch (error) {
        if (this.closed) return;
        if (error instanceof RpcError && error.code === 'FENCED') {
          this.host.fenced(this, error);
          return;
        }
        if (isUnverified(error)) {
          // The backup's view has not seen us acknowledged yet (a notification behind): soon again, same
          // position; backing off to retryMs for a backup whose view stays behind (partitioned from ZooKeeper).
          const pause = Math.min(this.limits.retryMs, UNVERIFIED_RETRY_MS * 2 ** Math.min(this.unverifiedStreak++, 8));
          await new Promise((r) => setTimeout(r, pause).unref());
          continue;
        }
        const code = (error as RpcError)?.code;
        this.host.report('peer-error', { url: this.url, code, message: String((error as Error)?.message ?? error) });
        this.match = -1;
        // A member that cannot prove the secret (misconfigured, or a record registered by someone else): seldom again.
        const pause = code === 'UNAUTHENTICATED' ? UNPROVEN_RETRY_MS : this.limits.retryMs;
        await new Promise((r) => setTimeout(r, pause).unref());
      }
    }
  }

  /**
   * The far end proves it holds the secret, for the URL we dialled, before it gets a call carrying
   * the secret: whoever can register a member record in ZooKeeper learns nothing by being dialled.
   */
  private async challenge(): Promise<void> {
    const up = this.ups;
    const nonce = randomUUID();
    const { result } = await this.conn.call<HelloResult>(METHOD_HELLO, { nonce }, { timeoutMs: this.limits.callTimeoutMs });
    if (!isObject(result) || !proofValid(result.proof, this.host.secret, nonce, this.url)) {
      throw new RpcError('UNAUTHENTICATED', `the member at ${this.url} cannot prove it holds the replication secret; nothing sent to it`);
    }
    this.provenUp = up;
  }

  private async call<R>(method: string, params: Record<string, unknown>): Promise<{ result: R }> {
    // Only on the connection that proved itself (a reconnect may reach another process).
    if (this.provenUp !== this.ups) throw new RpcError('UNAVAILABLE', `connection to ${this.url} changed; proving it again`, { notExecuted: true });
    const response = await this.conn.call<R>(method, params, { timeoutMs: this.limits.callTimeoutMs, meta: this.host.callMeta as Record<string, unknown> });
    this.unverifiedStreak = 0;
    return response;
  }

  private async probe(): Promise<void> {
    const { result } = await this.call<StatusResult>(METHOD_STATUS, { epoch: this.host.epoch, generation: this.host.generation });
    if (!isObject(result) || typeof result.key !== 'string' || !isIndex(result.epoch) || !isIndex(result.lastIndex) || !isIndex(result.appliedIndex)) {
      throw new RpcError('INTERNAL', 'bad $repl.status answer');
    }
    // Epochs compare within one generation; the backup verified its epoch in ZooKeeper.
    const sameGeneration = (result.generation ?? '') === this.host.generation;
    if (sameGeneration && result.epoch > this.host.epoch) throw new RpcError('FENCED', `backup ${result.key} has seen epoch ${result.epoch}`);
    this.key = result.key;
    // Where its log and ours agree, proved by the reign of the entry there (LogEntry): its whole log
    // if we hold its last entry (its unapplied tail may be committed: the old primary counted it),
    // else what it applied. An index we do not hold with that reign — ahead of us, or another
    // history after an in-sync set forced by hand or ZooKeeper's data lost — gets a snapshot: its
    // index alone would count entries we never wrote as ours.
    const log = this.host.replica.log;
    const agrees = (index: unknown, reign: unknown): boolean => isIndex(index) && isIndex(reign) && log.reignAt(index) === reign;
    if (agrees(result.lastIndex, result.lastReign)) this.setMatch(result.lastIndex);
    else if (agrees(result.appliedIndex, result.appliedReign)) this.setMatch(result.appliedIndex);
    else this.divergedAt(result.appliedIndex);
    this.host.progressed(this);
  }

  private setMatch(index: number): void {
    this.needsSnapshot = false;
    this.match = index;
    this.host.replica.log.hold(this, index + 1);
  }

  /** Nothing of its log is proved ours: it counts as holding nothing until a snapshot lands. */
  private divergedAt(appliedIndex: number, report = true): void {
    if (report && !this.needsSnapshot) this.host.report('peer-diverged', { url: this.url, key: this.key, appliedIndex });
    this.needsSnapshot = true;
    this.match = 0;
    this.host.replica.log.hold(this, undefined);
  }

  private async append(): Promise<void> {
    const log = this.host.replica.log;
    const prevIndex = this.match;
    const prevReign = log.reignAt(prevIndex);
    if (prevReign === undefined) return this.divergedAt(prevIndex, false); // compacted meanwhile: a snapshot, no divergence
    const entries = log.slice(prevIndex + 1, Math.min(this.limits.batchEntries, this.batchLimit)) ?? [];
    const commit = this.host.commitIndex;
    let result: AppendResult;
    try {
      ({ result } = await this.call<AppendResult>(
        METHOD_APPEND, { epoch: this.host.epoch, generation: this.host.generation, entries: toWire(entries), prevIndex, prevReign, commit },
      ));
    } catch (error) {
      // Batches are counted in entries, ops are any size: a batch over the frame limit (refused before
      // it was sent) goes again at once in halves, down to one entry, instead of failing for ever.
      if (error instanceof RpcError && error.code === 'PAYLOAD_TOO_LARGE' && error.notExecuted && entries.length > 1) {
        this.batchLimit = Math.max(1, Math.floor(entries.length / 2));
        return this.append();
      }
      throw error;
    }
    // Back towards full batches, one doubling per answered batch.
    if (this.batchLimit < this.limits.batchEntries) this.batchLimit = Math.min(this.limits.batchEntries, this.batchLimit * 2);
    if (!isObject(result) || !isIndex(result.match)) throw new RpcError('INTERNAL', 'bad $repl.append answer');
    this.key = result.key;
    if (result.diverged === true) {
      this.divergedAt(result.match);
      this.host.progressed(this);
      return;
    }
    // A gap: its log ends before our prev (or disagreed there and dropped its unapplied tail):
    // go back to where it ends and prove that entry again (probe). Never past our own end.
    if (result.gap === true) {
      this.match = -1;
      if (++this.gapStreak > 2) await new Promise((r) => setTimeout(r, this.limits.retryMs).unref());
      return;
    }
    this.gapStreak = 0;
    this.setMatch(Math.min(result.match, log.lastIndex));
    this.sentCommit = Math.max(this.sentCommit, commit);
    this.host.progressed(this);
  }

  private async sendSnapshot(): Promise<void> {
    const { index, reign, bytes } = this.host.replica.takeSnapshot();
    // Keep the tail written while the snapshot travels: the backup continues from index + 1.
    this.host.replica.log.hold(this, index + 1);
    const id = randomUUID();
    let offset = 0;
    this.host.report('snapshot-sent', { url: this.url, index, bytes: bytes.length });
    for (;;) {
      const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + this.limits.chunkBytes));
      const { result } = await this.call<SnapshotResult>(
        METHOD_SNAPSHOT, { epoch: this.host.epoch, generation: this.host.generation, id, index, reign, total: bytes.length, offset, chunk },
      );
      if (!isObject(result) || !isIndex(result.received)) throw new RpcError('INTERNAL', 'bad $repl.snapshot answer');
      if (result.match !== undefined) {
        this.key = result.key;
        this.setMatch(Math.min(index, this.host.replica.log.lastIndex));
        this.host.progressed(this);
        return;
      }
      if (result.received === 0 && offset !== 0) throw new RpcError('UNAVAILABLE', 'snapshot transfer restarted by the backup');
      offset = result.received;
      if (this.closed) return;
    }
  }
}
