import { EventEmitter } from 'events';
import { InvalidOptionError } from '../base/errors';
import { ZkError, ZkSession } from '../zk';
import type { WatchEvent, ZnodeStat } from '../zk';
import { CoordinationError } from './coordination-error';
import { MemberNames } from './member-names';
import { orderedMembers } from './member-order';
import { decodeRecord, Member, unreadableRecord } from './member-record';
import { SerialTask } from './serial-task';
import { DEFAULT_ROOT, leaseNodeName, ServicePaths, servicePaths, memberSequence } from './paths';
import { generationOf } from './service-node';
import type { MembershipChange, MembershipSnapshot, MembershipViewEvents, MembershipViewOptions } from './membership-types';

export type { MembershipChange, MembershipSnapshot, MembershipViewEvents, MembershipViewOptions } from './membership-types';

const EMPTY: MembershipSnapshot = { members: [], leader: undefined, primary: undefined, generation: '', version: 0 };
/** A read whose answer an event made out of date (see MemberNames). */
const OUTDATED = Symbol('outdated');
type Read = Member | undefined | typeof OUTDATED;
const NO_OPTIONS = {};
const NO_NAMES: readonly string[] = Object.freeze([]);
/** The empty joined/left/updated list of a change (shared, so frozen). */
const NONE: readonly Member[] = Object.freeze([]);
/** invalidVersions' entry for a node whose data this session may not read (no version known). */
const UNREADABLE = -2;

/**
 * A live, ordered view of a service's members. With a persistent recursive watch (ZooKeeper 3.6+)
 * a join costs one getData of the new node, a departure no read, an update one getData; after a
 * reconnect or a new session it lists and reads everything again (ZooKeeper does not replay what
 * persistent watches missed while disconnected). With one-shot watches (older servers) a join costs
 * one getChildren plus one getData, a departure one getChildren — never N reads per change. While
 * ZooKeeper is unreachable it keeps its last snapshot: it never empties itself because of a
 * ZooKeeper error.
 */
export class MembershipView extends EventEmitter<MembershipViewEvents> implements AsyncIterable<MembershipChange> {
  readonly paths: ServicePaths;
  private current: MembershipSnapshot = EMPTY;
  private readonly byName = new Map<string, Member>();
  /** Nodes whose data did not parse, by name → data version, so each bad version is reported once. */
  private readonly invalidVersions = new Map<string, number>();
  /** Nodes whose data changed since we read it (their data watch fired). */
  private readonly staleData = new Set<string>();
  /** The member names of the latest getChildren; valid while the children watch has not fired. */
  private names: readonly string[] = [];
  private childrenStale = true;
  /** Lease node names (leases/ children): only their presence matters, never their data, so renewals wake no view. */
  private leaseNames: ReadonlySet<string> = new Set();
  private leasesStale = true;
  /** The lease names the current snapshot's primary was decided with. */
  private leaseNamesPublished: ReadonlySet<string> | undefined;
  /** czxid.ctime of the members node last listed: when it changes, a new generation began. */
  private membersId: string | undefined;
  private generationValue = '';
  private running = false;
  /** undefined until the first refresh decides ('auto'); 'children' for good once the server refused addWatch. */
  private mode: 'persistent' | 'children' | undefined;
  /** Member names under the persistent watch (unused in 'children' mode). */
  private readonly tracked: MemberNames;
  /** Members whose node was deleted since the last refresh (persistent mode). */
  private readonly departed = new Set<string>();
  /** Refreshes one at a time; a ZooKeeper error keeps the last snapshot and retries (reported to 'error' listeners only: an unheard 'error' event would throw). */
  private readonly task = new SerialTask(() => this.refresh(), (error) => {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    return true;
  }, 250);
  /** start()/ready() callers waiting for the first snapshot; stop() fails them (CLOSED). */
  private readyWaiters: { resolve: (s: MembershipSnapshot) => void; reject: (e: Error) => void }[] = [];
  private readonly iteratorWakers = new Set<() => void>();
  private loaded = false;
  private readonly onSession = (): void => {
    // Watches do not survive a new session: list and read everything again.
    this.tracked.disarm();
    this.childrenStale = true;
    this.leasesStale = true;
    this.staleData.clear();
    for (const name of this.byName.keys()) this.staleData.add(name);
    for (const name of this.invalidVersions.keys()) this.staleData.add(name);
    this.schedule();
  };
  private readonly onReconnected = (): void => {
    // The persistent watch is set again (SetWatches2), but what it missed meanwhile is not replayed.
    this.tracked.resyncNeeded = true;
    this.childrenStale = true;
    this.leasesStale = true;
    this.schedule();
  };
  private readonly onLeases = (): void => {
    this.leasesStale = true;
    this.schedule();
  };
  /** One closure for every children/exists watch: a notification delivered to stale copies too costs one refresh. */
  private readonly onChildren = (): void => {
    this.childrenStale = true;
    this.schedule();
  };

  private readonly onMemberEvent = (): void => this.schedule();

  constructor(private readonly session: ZkSession, service: string, options: MembershipViewOptions = {}) {
    super();
    this.paths = servicePaths(service, options.root ?? DEFAULT_ROOT);
    if (options.watchMode !== undefined && options.watchMode !== 'auto' && options.watchMode !== 'children') {
      throw new InvalidOptionError('watchMode', `must be 'auto' or 'children', not ${String(options.watchMode)}`);
    }
    if (options.watchMode === 'children') this.mode = 'children';
    this.tracked = new MemberNames(session, this.paths.members, {
      stale: (name) => {
        this.departed.delete(name);
        this.staleData.add(name);
        this.invalidVersions.delete(name);
      },
      gone: (name) => {
        this.departed.add(name);
        this.staleData.delete(name);
        this.invalidVersions.delete(name);
      },
    });
  }

  /** How this view learns of changes: undefined until its first refresh decided. */
  get watchMode(): 'persistent' | 'children' | undefined {
    return this.mode;
  }

  get snapshot(): MembershipSnapshot {
    return this.current;
  }

  /** Starts watching; resolves with the first complete snapshot (empty if the service does not exist yet). */
  start(): Promise<MembershipSnapshot> {
    if (!this.running) {
      this.running = true;
      this.task.start();
      this.session.on('session', this.onSession);
      this.session.on('reconnected', this.onReconnected);
      this.childrenStale = true;
      this.leasesStale = true;
      // Events were not heard while stopped.
      this.tracked.resyncNeeded = true;
      this.schedule();
    }
    return this.ready();
  }

  ready(): Promise<MembershipSnapshot> {
    if (this.loaded) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /**
   * Stops watching; the snapshot stays as it was and every async iterator ends. A start() or
   * ready() still waiting for the first snapshot fails with CLOSED (it would wait for ever).
   */
  stop(): void {
    this.running = false;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(new CoordinationError('CLOSED', 'membership view stopped before its first snapshot'));
    this.task.stop();
    this.session.off('session', this.onSession);
    this.session.off('reconnected', this.onReconnected);
    this.tracked.disarm();
    for (const wake of [...this.iteratorWakers]) wake();
  }

  /** Yields every change from now on; ends when the view is stopped. */
  async *[Symbol.asyncIterator](): AsyncIterator<MembershipChange> {
    const queue: MembershipChange[] = [];
    let wake: (() => void) | undefined;
    const onChange = (c: MembershipChange): void => { queue.push(c); wake?.(); };
    this.on('change', onChange);
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (!this.running) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          this.iteratorWakers.add(resolve);
        });
        if (wake) this.iteratorWakers.delete(wake);
        wake = undefined;
      }
    } finally {
      this.off('change', onChange);
      if (wake) this.iteratorWakers.delete(wake);
    }
  }

  private schedule(): void {
    this.task.schedule();
  }

  /**
   * The member names to reconcile with, or undefined when only the nodes events named need a look
   * (persistent watch, no listing this round: staleData and departed say everything).
   */
  private async listNames(): Promise<Iterable<string> | undefined> {
    if (this.mode !== 'children') {
      if (await this.tracked.arm(this.onMemberEvent)) {
        this.mode = 'persistent';
        if (!this.tracked.resyncNeeded) return undefined;
        const stat = await this.tracked.list();
        this.checkGeneration(stat);
        return this.tracked.names;
      }
      // ZooKeeper older than 3.6. Members read under the persistent watch have no data watch: read them again.
      this.mode = 'children';
      this.childrenStale = true;
      for (const name of this.byName.keys()) this.staleData.add(name);
    }
    return this.listChildren();
  }

  /**
   * The generation is the members node's identity (czxid and ctime): member sequences — the
   * epochs — count up in it and start again only when it is created again. Read with the listing.
   */
  private checkGeneration(stat: ZnodeStat | undefined): void {
    const membersId = stat ? generationOf(stat) : undefined;
    if (membersId === this.membersId) return;
    this.membersId = membersId;
    if (membersId === undefined || membersId === this.generationValue) return;
    const previous = this.generationValue;
    this.generationValue = membersId;
    if (this.loaded) this.emit('generation', { generation: membersId, previous });
  }

  private async listChildren(): Promise<readonly string[]> {
    if (!this.childrenStale) return this.names;
    this.childrenStale = false;
    try {
      try {
        const listed = await this.session.children(this.paths.members, { watch: this.onChildren });
        this.names = listed.children;
        this.checkGeneration(listed.stat);
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
        // No service yet (or it was removed): wait for its members node to appear.
        const stat = await this.session.exists(this.paths.members, { watch: this.onChildren });
        if (stat) {
          this.childrenStale = true;
          return this.listChildren();
        }
        this.names = [];
        this.membersId = undefined;
      }
      return this.names;
    } catch (error) {
      this.childrenStale = true;
      throw error;
    }
  }

  private async listLeases(): Promise<void> {
    if (!this.leasesStale) return;
    this.leasesStale = false;
    try {
      try {
        this.leaseNames = new Set((await this.session.children(this.paths.leases, { watch: this.onLeases })).children);
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
        const stat = await this.session.exists(this.paths.leases, { watch: this.onLeases });
        if (stat) {
          this.leasesStale = true;
          return this.listLeases();
        }
        this.leaseNames = new Set();
      }
    } catch (error) {
      this.leasesStale = true;
      throw error;
    }
  }

  /**
   * One round: list if needed, read what changed, publish. In the steady state under the persistent
   * watch nothing is listed, and a round that needs no read (a departure) runs synchronously: every
   * watching client runs this on every change.
   */
  private refresh(): Promise<void> | void {
    if (this.mode === 'persistent' && this.tracked.armed && !this.tracked.resyncNeeded && !this.leasesStale) {
      let pending: Promise<void> | void = undefined;
      try {
        pending = this.update(undefined);
      } finally {
        if (pending === undefined) this.tracked.settle();
      }
      // then, not finally: finally costs two more promises and microtask hops per join read.
      return pending?.then(this.settled, this.settledWithError);
    }
    return this.refreshAll();
  }

  private readonly settled = (): void => this.tracked.settle();
  private readonly settledWithError = (error: unknown): never => {
    this.tracked.settle();
    throw error;
  };

  private async refreshAll(): Promise<void> {
    try {
      const [names] = await Promise.all([this.listNames(), this.listLeases()]);
      await this.update(names);
    } finally {
      this.tracked.settle();
    }
  }

  /**
   * Reads the nodes that need a read and publishes. `names`: a listing to reconcile with; undefined
   * under a persistent watch without a listing this round (staleData and departed say everything).
   */
  private update(names: Iterable<string> | undefined): Promise<void> | void {
    // One pass, no sort.
    const present = names ? new Set<string>() : undefined;
    const toRead: { name: string; sequence: number }[] = [];
    // A departure leaves nothing to read: no iterator over the empty set either (every client, every change).
    const candidates = names ?? (this.staleData.size > 0 ? this.staleData : NO_NAMES);
    for (const name of candidates) {
      const sequence = memberSequence(name);
      if (sequence === undefined) {
        if (!present) this.staleData.delete(name); // not a member node: nothing to read
        continue;
      }
      present?.add(name);
      if ((!this.byName.has(name) && !this.invalidVersions.has(name)) || this.staleData.has(name)) toRead.push({ name, sequence });
    }
    if (toRead.length === 0) {
      this.apply(present, toRead, []);
      return undefined;
    }
    for (const o of toRead) this.staleData.delete(o.name);
    const watchData = this.mode !== 'persistent';
    const mark = this.tracked.mark();
    const failed = (error: unknown): never => {
      // Read again next time (new names too: under the persistent watch nothing lists them again).
      for (const o of toRead) if (!this.tracked.changedSince(o.name, mark)) this.staleData.add(o.name);
      throw error;
    };
    // One read (a join, the usual case): no array promise in between.
    if (toRead.length === 1) {
      return this.readMember(toRead[0]!.name, toRead[0]!.sequence, watchData, mark).then((m) => this.apply(present, toRead, [m]), failed);
    }
    return Promise.all(toRead.map((o) => this.readMember(o.name, o.sequence, watchData, mark))).then((read) => this.apply(present, toRead, read), failed);
  }

  private apply(present: Set<string> | undefined, toRead: readonly { name: string }[], read: readonly Read[]): void {
    // Created when needed: most changes fill one of the three (every client, every change).
    let joined: Member[] | undefined;
    let updated: Member[] | undefined;
    let left: Member[] | undefined;
    for (let i = 0; i < read.length; i++) {
      const member = read[i];
      const name = toRead[i]!.name;
      // An event came after the read was issued: it already marked the node for a read, or as gone.
      if (member === OUTDATED) continue;
      const before = this.byName.get(name);
      if (!member) {
        // Gone, or its data no longer parses: either way it is no longer a member.
        if (before) {
          this.byName.delete(name);
          (left ??= []).push(before);
        }
        continue;
      }
      this.byName.set(name, member);
      if (!before) (joined ??= []).push(member);
      else if (JSON.stringify(before.record) !== JSON.stringify(member.record)) (updated ??= []).push(member);
    }
    if (present) {
      // Under the persistent watch, names an event added after the listing are there too.
      const stillThere = (name: string): boolean => present.has(name) || (this.mode === 'persistent' && this.tracked.names.has(name));
      for (const [name, member] of this.byName) {
        if (!stillThere(name)) {
          this.byName.delete(name);
          (left ??= []).push(member);
        }
      }
      for (const name of this.invalidVersions.keys()) if (!stillThere(name)) this.invalidVersions.delete(name);
      for (const name of this.staleData) if (!stillThere(name)) this.staleData.delete(name);
    }
    // Deleted events (persistent watch), also those that arrived during this round's listing or reads.
    if (this.departed.size > 0) {
      for (const name of this.departed) {
        if (this.tracked.names.has(name)) continue;
        const member = this.byName.get(name);
        if (member) {
          this.byName.delete(name);
          (left ??= []).push(member);
        }
      }
      this.departed.clear();
    }
    this.publish(joined ?? NONE, left ?? NONE, updated ?? NONE);
  }

  /**
   * getData (with a data watch unless the persistent watch covers the node); undefined when the
   * node is gone or its data is invalid (reported), OUTDATED when an event named it meanwhile.
   */
  private async readMember(name: string, sequence: number, watchData: boolean, mark: number): Promise<Read> {
    const path = `${this.paths.members}/${name}`;
    try {
      const { data, stat } = await this.session.get(path, watchData ? { watch: this.dataWatch(name) } : NO_OPTIONS);
      if (this.tracked.changedSince(name, mark)) return OUTDATED;
      try {
        return { name, path, sequence, owner: stat.ephemeralOwner, record: decodeRecord(data, path) };
      } catch (error) {
        if (!(error instanceof CoordinationError)) throw error;
        if (this.invalidVersions.get(name) !== stat.version) {
          this.invalidVersions.set(name, stat.version);
          this.emit('invalid', { path, error });
        }
        return undefined;
      }
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return this.tracked.changedSince(name, mark) ? OUTDATED : undefined;
      const unreadable = unreadableRecord(error, path);
      if (!unreadable) throw error;
      // Not a member here (one node must not stall the whole view); reported once until it changes.
      if (this.invalidVersions.get(name) !== UNREADABLE) {
        this.invalidVersions.set(name, UNREADABLE);
        this.emit('invalid', { path, error: unreadable });
      }
      return this.tracked.changedSince(name, mark) ? OUTDATED : undefined;
    }
  }

  /** The data watch of a member read under one-shot watches. */
  private dataWatch(name: string): (event: WatchEvent) => void {
    return (event) => {
      // A deletion also fires the children watch, which lists the members again: one refresh, not two.
      if (event.type === 'deleted') return;
      this.staleData.add(name);
      this.invalidVersions.delete(name);
      this.schedule();
    };
  }

  private publish(joined: readonly Member[], left: readonly Member[], updated: readonly Member[]): void {
    const members = joined.length + left.length + updated.length > 0
      ? orderedMembers(this.current.members, this.byName, joined, left, updated)
      : this.current.members;
    const head = members[0];
    const previous = this.current;
    // The primary depends on the head and the lease names only.
    const primary = head === previous.leader && this.leaseNames === this.leaseNamesPublished
      ? previous.primary
      : head && this.leaseNames.has(leaseNodeName(head.name, head.owner)) ? head : undefined;
    this.leaseNamesPublished = this.leaseNames;
    const changed = joined.length + left.length + updated.length > 0
      || primary?.name !== previous.primary?.name || this.generationValue !== previous.generation;
    if (changed || !this.loaded) {
      this.current = { members, leader: head, primary, generation: this.generationValue, version: previous.version + (changed ? 1 : 0) };
      if (changed) this.emit('change', { snapshot: this.current, joined, left, updated });
      const leader = this.current.leader;
      if (previous.leader?.name !== leader?.name) this.emit('leader', { member: leader, epoch: leader?.sequence });
      if (previous.primary?.name !== primary?.name || (primary && previous.generation !== this.generationValue)) {
        this.emit('primary', { member: primary, epoch: primary?.sequence, generation: this.generationValue });
      }
    }
    if (!this.loaded) {
      this.loaded = true;
      for (const waiter of this.readyWaiters.splice(0)) waiter.resolve(this.current);
    }
  }
}
