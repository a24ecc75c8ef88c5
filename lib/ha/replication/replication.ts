import { monotonicMs } from '../../base/clock';
import { randomUUID } from 'crypto';
import { InvalidOptionError } from '../../base/errors';
import { integerInRange, positiveNumber, prefixOptionErrors } from '../../base/options';
import { InSyncSet, isEligible, replicaKey } from '../../coordination/in-sync-set';
import type { IsrRecord } from '../../coordination/in-sync-set';
import type { ServicePaths } from '../../coordination';
import { clientSettings, RpcConnection, RpcError } from '../../transport';
import type { CallContext, Handler, RpcConnectionOptions } from '../../transport';
import type { ZkSession, AclEntry } from '../../zk';
import { ClaimOutcome, PrimaryEvent, PrimaryReplicator } from './primary';
import { isObject, METHOD_APPEND, METHOD_HELLO, METHOD_SNAPSHOT, METHOD_STATUS } from './protocol';
import { Replica } from './replica';
import type { ReplicaFault, ReplicatedState } from './replica';
import {
  claimOf, judgeClaim, mayBeNewer, memberProof, replicationSecret, SECRET_META, senderAuthentic, unverifiedError,
} from './sender-check';
import type { EpochClaim, ViewedPrimary } from './sender-check';

/** Room for a snapshot chunk's call frame around its bytes (method, ids, epoch, generation, offsets). */
const CHUNK_ENVELOPE_BYTES = 4096;

export interface ReplicationOptions {
  /** A backup that has not acknowledged an op within this long leaves the in-sync set. Default 1000. */
  readonly ackTimeoutMs?: number;
  /** Replicated ops waiting for their commit at most; more get OVERLOADED. Default 10 000. */
  readonly maxPending?: number;
  /** Applied ops kept for backups a little behind; a backup further behind gets a snapshot. Default 10 000. */
  readonly retainEntries?: number;
  /** Largest snapshot a backup accepts. Default 256 MiB. */
  readonly maxSnapshotBytes?: number;
  /** Snapshot chunk size. Default 256 KiB. */
  readonly chunkBytes?: number;
  /** Ops per append call. Default 512. */
  readonly batchEntries?: number;
  /** While no in-sync member can serve, claim again this often (and report). Default 1000. */
  readonly retryMs?: number;
  /** How the primary reaches the backups' ws endpoints (authentication, TLS, heartbeats). */
  readonly connection?: Omit<RpcConnectionOptions, 'url'>;
  /**
   * Required. A secret (≥ 16 bytes) every member of the service shares and no client knows: the
   * primary sends it with every replication call (to a member that first proved it holds it), and
   * a member refuses (UNAUTHENTICATED) a replication call without it. See docs/replication.md,
   * "Who may send replication calls".
   */
  readonly secret?: string | Uint8Array;
}

export type ReplicationFault =
  | { kind: 'isr-shrunk' | 'isr-expanded' | 'isr-unavailable' | 'replication' | 'rejected-input'; detail: Record<string, unknown> };

export interface ReplicationHost {
  readonly session: ZkSession;
  readonly paths: ServicePaths;
  readonly acl?: readonly AclEntry[];
  readonly memberId: string;
  /** The primary's lease check, made right before every write of the in-sync set. */
  isPrimary(): boolean;
  /** Still the leader of `epoch`? (a claim finishing after a demotion must not serve) */
  leads(epoch: number): boolean;
  fault(f: ReplicationFault): void;
  /** This member won the election but may not serve (not in sync): let the next in line try. */
  yieldLeadership(): void;
  /**
   * What this member's own ZooKeeper view acknowledges: the primary's epoch (undefined when there
   * is none, or it is this member) and the service's generation.
   */
  viewedPrimary(): ViewedPrimary;
  /** The URL this member is published at (its proof to the primary is bound to it). */
  ownUrl(): string | undefined;
  /** The generation this member registered in: the one its epoch counts in when elected. */
  generation(): string;
  /** Other members of the group, by URL. */
  peerUrls(): string[];
  /** How long a resigning primary may still apply ops it had ordered (its lease). */
  handoverMs(): number;
  /** The primary's replication is ready (or gave up getting there): calls held for it may be decided. */
  readyToServe(): void;
}

/**
 * Replicated state for one HaServer: its replica (backup side, always on) and, while it is the
 * primary, the replicator of its epoch.
 */
export class Replication {
  readonly replica: Replica;
  readonly set: InSyncSet;
  private primary: PrimaryReplicator | undefined;
  private handingOver: PrimaryReplicator | undefined;
  private claimTimer: NodeJS.Timeout | undefined;
  private lastUnavailableReport = -Infinity;
  private readonly ackTimeoutMs: number;
  private readonly maxPending: number;
  private readonly retryMs: number;
  private readonly connection: Omit<RpcConnectionOptions, 'url'>;
  private readonly secret: Uint8Array;
  private readonly callMeta: Readonly<Record<string, unknown>>;
  private readonly peerLimits: { batchEntries: number; chunkBytes: number; callTimeoutMs: number; retryMs: number };

  constructor(state: ReplicatedState, options: ReplicationOptions | undefined, private readonly host: ReplicationHost) {
    if (!state || typeof state !== 'object' || ['apply', 'snapshot', 'restore'].some((m) => typeof (state as unknown as Record<string, unknown>)[m] !== 'function')) {
      throw new InvalidOptionError('state', 'must be an object with apply(op), snapshot() and restore(snapshot) functions');
    }
    const o = options ?? {};
    if (typeof o !== 'object') throw new InvalidOptionError('replication', 'must be an object');
    const secret = replicationSecret(o.secret);
    if (typeof secret === 'string') throw new InvalidOptionError('replication.secret', secret);
    this.secret = secret;
    this.callMeta = Object.freeze({ [SECRET_META]: secret });
    this.ackTimeoutMs = positiveNumber('replication.ackTimeoutMs', o.ackTimeoutMs, 1000);
    this.maxPending = integerInRange('replication.maxPending', o.maxPending, 1, 1e7, 10_000);
    this.retryMs = positiveNumber('replication.retryMs', o.retryMs, 1000);
    const retainEntries = integerInRange('replication.retainEntries', o.retainEntries, 0, 1e8, 10_000);
    const maxSnapshotBytes = integerInRange('replication.maxSnapshotBytes', o.maxSnapshotBytes, 1, 2 ** 31 - 1, 256 * 1024 * 1024);
    this.peerLimits = {
      batchEntries: integerInRange('replication.batchEntries', o.batchEntries, 1, 1e6, 512),
      chunkBytes: integerInRange('replication.chunkBytes', o.chunkBytes, 1024, 64 * 1024 * 1024, 256 * 1024),
      callTimeoutMs: Math.max(2 * this.ackTimeoutMs, 2000),
      retryMs: Math.min(200, this.ackTimeoutMs / 2),
    };
    if (o.connection !== undefined && (typeof o.connection !== 'object' || o.connection === null)) {
      throw new InvalidOptionError('replication.connection', 'must be an object');
    }
    this.connection = { heartbeatMs: 1000, ...o.connection };
    // Validated now (constructing connects nothing), not when the first backup appears.
    prefixOptionErrors('replication.connection', () => new RpcConnection({ ...this.connection, url: 'ws://127.0.0.1:1' }));
    // A snapshot chunk travels in one frame, with its envelope: it must fit, or no snapshot ever arrives.
    const frameLimit = clientSettings({ ...this.connection, url: 'ws://127.0.0.1:1' }).maxFrameBytes;
    if (this.peerLimits.chunkBytes > frameLimit - CHUNK_ENVELOPE_BYTES) {
      throw new InvalidOptionError('replication.chunkBytes', `must leave room in one frame: at most replication.connection.maxFrameBytes (${frameLimit}) - ${CHUNK_ENVELOPE_BYTES}, got ${this.peerLimits.chunkBytes}`);
    }
    const fault: ReplicaFault = (kind, detail) => this.host.fault({ kind: 'replication', detail: { what: kind, ...detail } });
    // A new incarnation per process: in-memory state does not survive a restart, so neither does membership of the set.
    this.replica = new Replica(replicaKey(host.memberId, randomUUID().slice(0, 8)), state, { retainEntries, maxSnapshotBytes }, fault);
    this.set = new InSyncSet(host.session, host.paths, { acl: host.acl, mayWrite: () => host.isPrimary() });
  }

  /** This member's replica key in the in-sync set. */
  get key(): string {
    return this.replica.key;
  }

  /** The primary admits calls only once this is true. */
  get ready(): boolean {
    return this.primary?.ready === true;
  }

  /**
   * The internal methods every member serves. Beyond the transport's authentication (which
   * clients pass too), each needs the replication secret, and an append or snapshot needs the
   * epoch this member's own view acknowledges (sender-check.ts).
   */
  handlers(): Record<string, Handler> {
    return {
      [METHOD_HELLO]: (params, ctx) => {
        const url = this.host.ownUrl();
        if (!isObject(params) || typeof params.nonce !== 'string' || params.nonce.length < 16 || params.nonce.length > 128 || url === undefined) {
          throw this.refused(METHOD_HELLO, ctx, new RpcError('INVALID_ARGUMENT', `bad ${METHOD_HELLO} params`));
        }
        return { proof: memberProof(this.secret, params.nonce, url) };
      },
      [METHOD_STATUS]: (_params, ctx) => {
        this.authenticate(METHOD_STATUS, ctx);
        return this.replica.status();
      },
      [METHOD_APPEND]: (params, ctx) => {
        this.admitSender(METHOD_APPEND, params, ctx);
        return this.replica.onAppend(params);
      },
      [METHOD_SNAPSHOT]: (params, ctx) => {
        this.admitSender(METHOD_SNAPSHOT, params, ctx);
        return this.replica.onSnapshot(params);
      },
    };
  }

  private authenticate(method: string, ctx: CallContext): void {
    if (senderAuthentic(ctx.meta, this.secret)) return;
    throw this.refused(method, ctx, new RpcError('UNAUTHENTICATED', `${method} needs the replication secret`, { notExecuted: true, retryable: false }));
  }

  /**
   * Lets an append/snapshot through only from the primary this member's view acknowledges. No
   * number in the message raises an epoch or demotes us: a claim we cannot verify is refused
   * (retryable: our view may be a notification behind), an older one is FENCED.
   */
  private admitSender(method: string, params: unknown, ctx: CallContext): void {
    this.authenticate(method, ctx);
    const claim = claimOf(params);
    if (claim === undefined) throw this.refused(method, ctx, new RpcError('INVALID_ARGUMENT', `bad ${method} params (epoch, generation)`));
    const p = this.primary;
    const own: EpochClaim = p ? { epoch: p.epoch, generation: p.generation } : { epoch: this.replica.epoch, generation: this.replica.generation };
    const verdict = judgeClaim(claim, this.host.viewedPrimary(), own);
    const newer = mayBeNewer(claim, own);
    if (verdict === 'verified' && (!p || newer)) {
      if (p) {
        // Our own view shows the newer primary: we are not the primary any more (the election catches up).
        this.host.fault({ kind: 'replication', detail: { what: 'newer-primary', epoch: claim.epoch, generation: claim.generation, ours: p.epoch } });
        this.demoted('a newer primary replicates');
      }
      return;
    }
    if (verdict === 'unverified' && (!p || newer)) throw this.refused(method, ctx, unverifiedError(claim), claim);
    const why = p ? `this member is the primary of epoch ${p.epoch}` : `epoch ${claim.epoch} refused: epoch ${own.epoch} is newer`;
    throw this.refused(method, ctx, new RpcError('FENCED', why, { notExecuted: true, retryable: false }), claim);
  }

  /** Reports a refused replication call (rate limited: anyone able to call us can cause these) and returns the error. */
  private refused(method: string, ctx: CallContext, error: RpcError, claim?: EpochClaim): RpcError {
    this.host.fault({
      kind: 'rejected-input',
      detail: { code: error.code, method, peer: ctx.peer.address, epoch: claim?.epoch, generation: claim?.generation, message: error.message },
    });
    return error;
  }

  /**
   * Eligibility for the election hook: only members of the in-sync set may become primary (any
   * member when the service has no set yet).
   */
  async eligible(): Promise<boolean> {
    const current = await this.set.read();
    const ok = isEligible(current?.record, this.key);
    // Asked only when first in line: not being in sync there means no in-sync member is ahead of us.
    if (!ok && current) this.reportUnavailable('not-in-sync', current.record);
    return ok;
  }

  /** `ctx.replicate(op)`. */
  replicate<R = unknown>(op: unknown): Promise<R> {
    const p = this.primary;
    if (!p) return Promise.reject(new RpcError('NOT_PRIMARY', 'not the primary', { notExecuted: true }));
    return p.replicate(op) as Promise<R>;
  }

  /** Elected with `epoch`: claim the set, apply the log, bring the backups up to date, then serve. */
  elected(epoch: number): void {
    this.demoted('re-elected');
    // Fence the old primary at once: from here on, appends of older epochs are refused.
    const generation = this.host.generation();
    this.replica.raiseEpoch(epoch, generation);
    const primary = new PrimaryReplicator(this.replica, epoch, this.set, {
      limits: this.peerLimits, ackTimeoutMs: this.ackTimeoutMs, maxPending: this.maxPending, connection: this.connection,
      generation, callMeta: this.callMeta, secret: this.secret,
      mayApply: () => this.host.isPrimary(),
    }, (e) => this.onPrimaryEvent(e));
    this.primary = primary;
    void this.tryClaim(primary);
  }

  demoted(reason: string): void {
    if (this.claimTimer) clearTimeout(this.claimTimer);
    this.claimTimer = undefined;
    const p = this.primary;
    this.primary = undefined;
    this.handingOver?.stop(reason);
    this.handingOver = undefined;
    if (p && reason === 'resigned' && p.ready) {
      // Graceful: the calls being drained finish their ops (see PrimaryReplicator.handover).
      this.handingOver = p;
      p.handover(this.host.handoverMs());
      return;
    }
    p?.stop(reason);
  }

  /** The group changed: the primary ships to every other member. */
  membersChanged(): void {
    this.primary?.setPeers(this.host.peerUrls());
  }

  status(): { key: string; epoch: number; lastIndex: number; appliedIndex: number; ready: boolean; isr: readonly string[] } {
    return { ...this.replica.status(), ready: this.ready, isr: this.primary?.members ?? [] };
  }

  private async tryClaim(primary: PrimaryReplicator): Promise<void> {
    let outcome: ClaimOutcome;
    try {
      outcome = await primary.claim();
    } catch (error) {
      this.host.fault({ kind: 'replication', detail: { what: 'claim-failed', message: String((error as Error)?.message ?? error) } });
      this.retryClaim(primary);
      return;
    }
    if (this.primary !== primary || !this.host.leads(primary.epoch)) return;
    if (!outcome.ok) {
      this.reportUnavailable(outcome.reason, outcome.isr);
      if (this.host.peerUrls().length > 0) this.host.yieldLeadership();
      this.retryClaim(primary);
      return;
    }
    primary.setPeers(this.host.peerUrls());
    await primary.barrier().catch(() => undefined);
    if (this.primary === primary) this.host.readyToServe();
  }

  private retryClaim(primary: PrimaryReplicator): void {
    this.claimTimer = setTimeout(() => {
      this.claimTimer = undefined;
      if (this.primary === primary && this.host.leads(primary.epoch)) void this.tryClaim(primary);
    }, this.retryMs);
    this.claimTimer.unref();
  }

  /** No in-sync member serves: the service waits (it does not promote a stale member); said once per 30 s. */
  private reportUnavailable(reason: string, isr: IsrRecord): void {
    const now = monotonicMs();
    if (now - this.lastUnavailableReport < 30_000) return;
    this.lastUnavailableReport = now;
    this.host.fault({
      kind: 'isr-unavailable',
      detail: {
        reason, key: this.key, isr: isr.members, isrEpoch: isr.epoch, committedIndex: isr.committedIndex,
        override: `zk-ha isr force ${this.host.paths.service} <member id>`,
      },
    });
  }

  private onPrimaryEvent(e: PrimaryEvent): void {
    if (e.kind === 'isr-shrunk') this.host.fault({ kind: 'isr-shrunk', detail: { removed: e.removed, members: e.members, index: e.index } });
    else if (e.kind === 'isr-expanded') this.host.fault({ kind: 'isr-expanded', detail: { added: e.added, members: e.members } });
    else if (e.kind === 'fenced') {
      this.host.fault({ kind: 'replication', detail: { what: 'fenced', ...e.detail } });
      // Our replicator stopped for good while we still hold the lease: hand the lease on, so that a
      // member that can serve (or the operator override) takes over instead of calls timing out here.
      if (this.host.peerUrls().length > 0) this.host.yieldLeadership();
    }
    else this.host.fault({ kind: 'replication', detail: e.detail });
  }
}
