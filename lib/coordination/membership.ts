import { backoffDelay, resolveBackoffOptions } from '../base/backoff';
import { EventEmitter } from 'events';
import { randomUUID } from 'crypto';
import { ZkError, ZkSession } from '../zk';
import type { AclEntry, MultiOp } from '../zk';
import { CoordinationError } from './coordination-error';
import { completeRecord, decodeRecord, encodeRecord, MemberRecord } from './member-record';
import { DEFAULT_ROOT, MEMBER_PREFIX, memberSequence, ServicePaths, servicePaths } from './paths';
import { ensureServiceNode, generationOf, ServiceMode, SERVICE_MODES } from './service-node';
import { oneOf } from '../base/options';

/** Re-registration after a failure: jittered so a fleet that lost ZooKeeper together does not come back in step. */
const REGISTER_BACKOFF = resolveBackoffOptions({ initialMs: 100, maxMs: 2000, jitter: 'equal' });

export interface MembershipOptions {
  readonly service: string;
  readonly mode: ServiceMode;
  /** The record to publish; id defaults to a random UUID, pid/host/startedAt/version are filled in. */
  readonly record: Pick<MemberRecord, 'url'> & Partial<MemberRecord>;
  readonly root?: string;
  /** ACL for the nodes this member creates (e.g. digest write + world read). */
  readonly acl?: readonly AclEntry[];
}

/** Our own member node, as far as we know it. */
export interface OwnNode {
  readonly path: string;
  readonly name: string;
  readonly sequence: number;
  readonly sessionId: string;
}

export interface MembershipEvents {
  registered: [node: OwnNode & { reason: 'start' | 'session' | 'deleted' | 'resign' }];
  unregistered: [info: { path: string; reason: 'session-lost' | 'deleted' | 'left' | 'resign' }];
  /** Registration failed and will be tried again (the error says why). */
  retrying: [error: unknown];
  /** The service node was created again (deleted, or ZooKeeper lost its data): a new generation. */
  generation: [info: { generation: string; previous: string }];
  /** A re-registration gave up for good (MODE_MISMATCH: the service changed mode; ACL_TOO_OPEN; CLOSED: left or session closed). */
  failed: [error: unknown];
  /** Existing service nodes were more open than the `acl` option: `fixed` now, or `unfixable` by this session. */
  acl: [info: { fixed: string[]; unfixable: string[] }];
  /** Our record had been overwritten by another writer (`found` bytes); we wrote ours back. */
  restored: [info: { path: string; found: number }];
}

/**
 * One member's presence in a service group: an EPHEMERAL_SEQUENTIAL node holding its JSON record.
 * It re-registers by itself after its session is lost and after an operator deletes its node, and
 * a create whose reply was lost is found again by the member id instead of leaving a duplicate.
 */
export class Membership extends EventEmitter<MembershipEvents> {
  readonly paths: ServicePaths;
  readonly mode: ServiceMode;
  private recordValue: MemberRecord;
  private own: OwnNode | undefined;
  private active = false;
  private registering: Promise<OwnNode> | undefined;
  private generationValue = '';
  private readonly onSession = (): void => {
    // Runs from an event: a rejection here would be unhandled and crash the process.
    this.reregister('session').catch((error: unknown) => this.emit('failed', error));
  };
  private readonly onLost = (): void => {
    const old = this.own;
    this.own = undefined;
    if (old) this.emit('unregistered', { path: old.path, reason: 'session-lost' });
  };

  constructor(private readonly session: ZkSession, private readonly options: MembershipOptions) {
    super();
    this.paths = servicePaths(options.service, options.root ?? DEFAULT_ROOT);
    this.mode = oneOf('mode', options.mode, SERVICE_MODES);
    this.recordValue = completeRecord({ ...options.record, id: options.record.id ?? randomUUID() });
    encodeRecord(this.recordValue); // validates now: a bad record fails at construction
  }

  get record(): MemberRecord {
    return this.recordValue;
  }
  get node(): OwnNode | undefined {
    return this.own;
  }
  /** ACL of the nodes this member creates (its lease node too). */
  get acl(): readonly AclEntry[] | undefined {
    return this.options.acl;
  }

  /** Ensures the service node (checking the mode) and registers. */
  async register(): Promise<OwnNode> {
    if (this.active) return this.own ?? this.reregister('start');
    this.active = true;
    this.session.on('lost', this.onLost);
    this.session.on('session', this.onSession);
    try {
      await this.ensure();
    } catch (error) {
      this.deactivate();
      throw error;
    }
    return this.reregister('start');
  }

  /** The service's generation (its members node's czxid and ctime) as of the last registration; "" before. */
  get generation(): string {
    return this.generationValue;
  }

  /**
   * Creates again whatever of the service's nodes is missing (an operator deleted leases/, say),
   * as registration does; the election calls it when a lease cannot be created for that reason.
   */
  async repair(): Promise<void> {
    await this.ensure();
  }

  private async ensure(): Promise<void> {
    await ensureServiceNode(this.session, this.paths, this.mode, this.options.acl, (r) => this.emit('acl', r));
    // The generation is the members node's: member sequences — the epochs — count up in it, and
    // start again whenever it is created again (members/ deleted, the service node deleted, ZooKeeper
    // lost its data). A replacement right after this read is seen at the next registration.
    const stat = await this.session.retry(() => this.session.exists(this.paths.members));
    if (!stat) throw new ZkError('NO_NODE', `${this.paths.members} was deleted while registering`, { path: this.paths.members });
    const generation = generationOf(stat);
    if (generation === this.generationValue) return;
    const previous = this.generationValue;
    this.generationValue = generation;
    if (previous !== '') this.emit('generation', { generation, previous });
  }

  /** Publishes a new record (e.g. another weight) on the existing node. */
  async update(patch: Partial<Omit<MemberRecord, 'id'>>): Promise<void> {
    const next = { ...this.recordValue, ...patch };
    const data = encodeRecord(next);
    this.recordValue = next;
    const own = this.own;
    if (!own) return; // published with the next registration
    try {
      await this.session.retry(() => this.session.set(own.path, data));
    } catch (error) {
      // The node went away (deleted, session lost): the re-registration publishes the new record.
      if (this.own !== own && error instanceof ZkError) return;
      if (error instanceof ZkError && (error.code === 'NO_NODE' || error.code === 'SESSION_EXPIRED')) return;
      throw error;
    }
  }

  /** Leaves the group: deletes the node; no re-registration after this. `alongside` as for requeue(). */
  async leave(alongside: readonly (readonly MultiOp[])[] = []): Promise<void> {
    this.deactivate();
    // A registration in flight sees `active` false once its create returns and deletes its node.
    await this.registering?.catch(() => undefined);
    const own = this.own;
    this.own = undefined;
    if (!own) return;
    await this.deleteOwn(own, alongside);
    this.emit('unregistered', { path: own.path, reason: 'left' });
  }

  /**
   * Gives up the current node and registers again at the back of the line. `alongside`: writes
   * that go in the same multi as the deletion (e.g. the lease's RELEASED mark) — alternatives, tried
   * in order until one commits; the node is deleted alone if none does. `rejoinAfterMs`: register
   * again only that much later (a handover's successor takes over meanwhile without our own
   * registration — a write that wakes every view — competing with it).
   */
  async requeue(alongside: readonly (readonly MultiOp[])[] = [], rejoinAfterMs = 0): Promise<OwnNode> {
    const own = this.own;
    this.own = undefined;
    if (own) {
      await this.deleteOwn(own, alongside);
      this.emit('unregistered', { path: own.path, reason: 'resign' });
    }
    if (rejoinAfterMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, rejoinAfterMs));
      // Registered meanwhile (a new session registers at once) or left: nothing more to do here.
      if (this.own) return this.own;
      if (!this.active) throw new CoordinationError('CLOSED', 'membership left');
    }
    return this.reregister('resign');
  }

  private deactivate(): void {
    this.active = false;
    this.session.off('lost', this.onLost);
    this.session.off('session', this.onSession);
  }

  private async deleteOwn(own: OwnNode, alongside: readonly (readonly MultiOp[])[] = []): Promise<void> {
    for (const ops of alongside) {
      if (ops.length === 0) continue;
      try {
        await this.session.multi([...ops, { op: 'delete', path: own.path, version: -1 }]);
        return;
      } catch (error) {
        // One of them is gone (or the answer was lost): try the next, then delete the node alone; it may be gone too.
        if (!(error instanceof ZkError)) throw error;
      }
    }
    try {
      await this.session.retry(() => this.session.delete(own.path));
    } catch (error) {
      if (!(error instanceof ZkError && (error.code === 'NO_NODE' || error.code === 'SESSION_EXPIRED'))) throw error;
    }
  }

  /** Serialised: concurrent triggers (session + deletion) share one registration. */
  private reregister(reason: 'start' | 'session' | 'deleted' | 'resign'): Promise<OwnNode> {
    if (this.registering) return this.registering;
    this.registering = this.registerLoop(reason).finally(() => { this.registering = undefined; });
    return this.registering;
  }

  private async registerLoop(reason: 'start' | 'session' | 'deleted' | 'resign'): Promise<OwnNode> {
    let ensure = reason === 'session';
    for (let attempt = 0; ; attempt++) {
      if (!this.active) throw new CoordinationError('CLOSED', 'membership left');
      try {
        // After a new session, and whenever the service node has gone (deleteall; ZooKeeper lost its
        // data): create it again. A recreated service node is a new generation.
        if (ensure) await this.ensure();
        const { own, data } = await this.createOwnNode();
        if (!this.active) {
          // leave() was called while the create was in flight: take the node back out.
          await this.deleteOwn(own);
          throw new CoordinationError('CLOSED', 'membership left');
        }
        if (own.sessionId !== this.session.sessionId) {
          // The session was lost after the create: that node dies with it; register on the new one.
          throw new ZkError('SESSION_EXPIRED', `session ${own.sessionId} lost while registering`);
        }
        const current = encodeRecord(this.recordValue);
        // update() ran while the create was in flight: publish the newer record.
        if (!current.equals(data)) await this.session.retry(() => this.session.set(own.path, current));
        this.own = own;
        this.watchOwn(own);
        this.emit('registered', { ...own, reason });
        return own;
      } catch (error) {
        if (error instanceof CoordinationError && (error.code === 'MODE_MISMATCH' || error.code === 'CLOSED' || error.code === 'ACL_TOO_OPEN')) throw error;
        if (reason === 'start' && attempt === 0 && !(error instanceof ZkError)) throw error;
        // At start, an error that waiting cannot cure (QUOTA_EXCEEDED, NO_AUTH, an unknown server
        // code...) fails register() at once instead of looping silently; later, the loop keeps trying
        // and says why with each "retrying".
        if (reason === 'start' && error instanceof ZkError && !transientAtRegistration(error)) throw error;
        if (error instanceof ZkError && error.code === 'NO_NODE') ensure = true;
        this.emit('retrying', error);
        await new Promise((r) => setTimeout(r, backoffDelay(attempt + 1, REGISTER_BACKOFF)));
        if (this.session.state === 'closed') throw error;
      }
    }
  }

  /**
   * Creates the node; when the reply is lost (CONNECTION_LOSS / TIMEOUT) looks for a node of ours
   * (same member id, owned by this session) before trying again, so no duplicate is left behind.
   */
  private async createOwnNode(): Promise<{ own: OwnNode; data: Buffer }> {
    const data = encodeRecord(this.recordValue);
    for (;;) {
      const sessionId = this.session.sessionId;
      try {
        const path = await this.session.create(`${this.paths.members}/${MEMBER_PREFIX}`, data, {
          mode: 'ephemeral-sequential', acl: this.options.acl,
        });
        return { own: toOwnNode(path, sessionId), data };
      } catch (error) {
        if (!(error instanceof ZkError) || !error.retryable) throw error;
        const found = await this.session.retry(() => this.findOwnNode());
        if (found) return { own: found, data };
      }
    }
  }

  /** Our node by member id and owner session; stray duplicates of ours are deleted. */
  private async findOwnNode(): Promise<OwnNode | undefined> {
    const { children } = await this.session.children(this.paths.members);
    const mine: OwnNode[] = [];
    for (const name of children) {
      if (memberSequence(name) === undefined) continue;
      const path = `${this.paths.members}/${name}`;
      try {
        const { data, stat } = await this.session.get(path);
        if (stat.ephemeralOwner !== this.session.sessionId) continue;
        if (decodeRecord(data, path).id === this.recordValue.id) mine.push(toOwnNode(path, stat.ephemeralOwner));
      } catch (error) {
        if (error instanceof ZkError && error.code === 'NO_NODE') continue;
        if (error instanceof CoordinationError) continue;
        throw error;
      }
    }
    mine.sort((a, b) => a.sequence - b.sequence);
    for (const stray of mine.slice(1)) await this.deleteOwn(stray);
    return mine[0];
  }

  /** An operator (or anything else) deleting our node makes us register again. */
  /**
   * Watches our node: deleted → register again; data overwritten by someone else (an operator, a
   * bug) → write our record back, conditioned on the version read, so that a garbage record cannot
   * keep clients away from a live member (they reject records that do not validate).
   */
  private watchOwn(own: OwnNode): void {
    const onEvent = (): void => {
      if (this.own !== own || !this.active) return;
      void this.session.get(own.path, { watch: onEvent }).then(({ data, stat }) => {
        if (this.own !== own || !this.active) return;
        const current = encodeRecord(this.recordValue);
        if (data.equals(current)) return;
        // An update() in flight writes the current record itself; a second write of it is harmless.
        void this.session.set(own.path, current, stat.version).then(
          () => this.emit('restored', { path: own.path, found: data.length }),
          () => undefined, // moved again (the next event repairs it) or gone (re-registration)
        );
      }, (error: unknown) => {
        if (this.own !== own || !this.active) return;
        if (error instanceof ZkError && error.code === 'NO_NODE') {
          this.own = undefined;
          this.emit('unregistered', { path: own.path, reason: 'deleted' });
          void this.reregister('deleted').catch(() => undefined);
          return;
        }
        // The watch was not set (connection trouble): try again while the node is still ours.
        setTimeout(onEvent, 250).unref();
      });
    };
    onEvent();
  }
}

function toOwnNode(path: string, sessionId: string): OwnNode {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const sequence = memberSequence(name);
  if (sequence === undefined) throw new CoordinationError('NOT_REGISTERED', `unexpected member node name ${path}`);
  return { path, name, sequence, sessionId };
}

/** Errors after which registering again can succeed without anyone changing anything. */
function transientAtRegistration(error: ZkError): boolean {
  return error.retryable || error.code === 'SESSION_EXPIRED' || error.code === 'NO_NODE' || error.code === 'CLOSED';
}
