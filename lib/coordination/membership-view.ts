import { EventEmitter } from 'events';
import { ZkError, ZkSession } from '../zk';
import { CoordinationError } from './coordination-error';
import { decodeRecord, Member } from './member-record';
import { DEFAULT_ROOT, ServicePaths, servicePaths, sortMemberNames } from './paths';

export interface MembershipSnapshot {
  /** Members in election order (lowest sequence first). */
  readonly members: readonly Member[];
  /** The member with the lowest sequence: the primary in primary/backup mode. */
  readonly leader: Member | undefined;
  /** Counts the changes this view has seen. */
  readonly version: number;
}

export interface MembershipChange {
  readonly snapshot: MembershipSnapshot;
  readonly joined: readonly Member[];
  readonly left: readonly Member[];
  readonly updated: readonly Member[];
}

export interface MembershipViewEvents {
  change: [change: MembershipChange];
  leader: [info: { member: Member | undefined; epoch: number | undefined }];
  /** A member node whose data does not parse: skipped, never fatal. */
  invalid: [info: { path: string; error: CoordinationError }];
  /** A ZooKeeper error while refreshing; the view keeps its last snapshot and tries again. */
  error: [error: unknown];
}

const EMPTY: MembershipSnapshot = { members: [], leader: undefined, version: 0 };

/**
 * A live, ordered view of a service's members. Each change costs one getChildren plus one getData
 * per new (or changed) node — never N reads per change. While ZooKeeper is unreachable it keeps
 * its last snapshot: it never empties itself because of a ZooKeeper error.
 */
export class MembershipView extends EventEmitter<MembershipViewEvents> implements AsyncIterable<MembershipChange> {
  readonly paths: ServicePaths;
  private current: MembershipSnapshot = EMPTY;
  private readonly byName = new Map<string, Member>();
  /** Nodes whose data did not parse, by name → data version, so each bad version is reported once. */
  private readonly invalidVersions = new Map<string, number>();
  private readonly staleData = new Set<string>();
  private running = false;
  private refreshing = false;
  private dirty = false;
  private readyResolvers: ((s: MembershipSnapshot) => void)[] = [];
  private loaded = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly onSession = (): void => {
    // Watches do not survive a new session: read everything again.
    this.staleData.clear();
    for (const name of this.byName.keys()) this.staleData.add(name);
    this.schedule();
  };
  private readonly onReconnected = (): void => this.schedule();

  constructor(private readonly session: ZkSession, service: string, options: { root?: string } = {}) {
    super();
    this.paths = servicePaths(service, options.root ?? DEFAULT_ROOT);
  }

  get snapshot(): MembershipSnapshot {
    return this.current;
  }

  /** Starts watching; resolves with the first complete snapshot (empty if the service does not exist yet). */
  start(): Promise<MembershipSnapshot> {
    if (!this.running) {
      this.running = true;
      this.session.on('session', this.onSession);
      this.session.on('reconnected', this.onReconnected);
      this.schedule();
    }
    return this.ready();
  }

  ready(): Promise<MembershipSnapshot> {
    if (this.loaded) return Promise.resolve(this.current);
    return new Promise((resolve) => this.readyResolvers.push(resolve));
  }

  stop(): void {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.session.off('session', this.onSession);
    this.session.off('reconnected', this.onReconnected);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<MembershipChange> {
    const queue: MembershipChange[] = [];
    let wake: (() => void) | undefined;
    const onChange = (c: MembershipChange): void => { queue.push(c); wake?.(); };
    this.on('change', onChange);
    try {
      while (this.running) {
        if (queue.length === 0) await new Promise<void>((r) => { wake = r; });
        wake = undefined;
        while (queue.length > 0) yield queue.shift()!;
      }
    } finally {
      this.off('change', onChange);
    }
  }

  /** Coalesces notifications: at most one refresh runs, and one more follows if anything changed meanwhile. */
  private schedule(): void {
    if (!this.running) return;
    if (this.refreshing) {
      this.dirty = true;
      return;
    }
    this.refreshing = true;
    void this.refreshLoop();
  }

  private async refreshLoop(): Promise<void> {
    try {
      do {
        this.dirty = false;
        await this.refresh();
      } while (this.dirty && this.running);
    } catch (error) {
      this.emit('error', error);
      if (this.running) {
        this.retryTimer = setTimeout(() => this.schedule(), 250);
        this.retryTimer.unref();
      }
    } finally {
      this.refreshing = false;
    }
  }

  private async refresh(): Promise<void> {
    const watch = (): void => this.schedule();
    let names: string[];
    try {
      names = (await this.session.children(this.paths.members, { watch })).children;
    } catch (error) {
      if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
      // No service yet: wait for its members node to appear.
      const stat = await this.session.exists(this.paths.members, { watch });
      if (stat) return this.refresh();
      names = [];
    }
    const ordered = sortMemberNames(names);
    const present = new Set(ordered.map((o) => o.name));
    const toRead = ordered.filter((o) => !this.byName.has(o.name) && !this.invalidVersions.has(o.name) || this.staleData.has(o.name));
    const read = await Promise.all(toRead.map((o) => this.readMember(o.name, o.sequence)));

    const joined: Member[] = [];
    const updated: Member[] = [];
    const left: Member[] = [];
    read.forEach((member, i) => {
      const name = toRead[i]!.name;
      this.staleData.delete(name);
      const before = this.byName.get(name);
      if (!member) {
        // Gone, or its data no longer parses: either way it is no longer a member.
        if (before) {
          this.byName.delete(name);
          left.push(before);
        }
        return;
      }
      this.byName.set(name, member);
      if (!before) joined.push(member);
      else if (JSON.stringify(before.record) !== JSON.stringify(member.record)) updated.push(member);
    });
    for (const [name, member] of this.byName) {
      if (!present.has(name)) {
        this.byName.delete(name);
        left.push(member);
      }
    }
    for (const name of this.invalidVersions.keys()) if (!present.has(name)) this.invalidVersions.delete(name);
    for (const name of this.staleData) if (!present.has(name)) this.staleData.delete(name);
    this.publish(joined, left, updated);
  }

  /** getData with a data watch; undefined when the node is gone or its data is invalid (reported). */
  private async readMember(name: string, sequence: number): Promise<Member | undefined> {
    const path = `${this.paths.members}/${name}`;
    const onData = (): void => {
      this.staleData.add(name);
      this.invalidVersions.delete(name);
      this.schedule();
    };
    try {
      const { data, stat } = await this.session.get(path, { watch: onData });
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
      if (error instanceof ZkError && error.code === 'NO_NODE') return undefined;
      throw error;
    }
  }

  private publish(joined: Member[], left: Member[], updated: Member[]): void {
    const changed = joined.length + left.length + updated.length > 0;
    if (changed || !this.loaded) {
      const members = [...this.byName.values()].sort((a, b) => a.sequence - b.sequence);
      const previousLeader = this.current.leader;
      this.current = { members, leader: members[0], version: this.current.version + (changed ? 1 : 0) };
      if (changed) this.emit('change', { snapshot: this.current, joined, left, updated });
      const leader = this.current.leader;
      if (previousLeader?.name !== leader?.name) this.emit('leader', { member: leader, epoch: leader?.sequence });
    }
    if (!this.loaded) {
      this.loaded = true;
      for (const resolve of this.readyResolvers.splice(0)) resolve(this.current);
    }
  }
}
