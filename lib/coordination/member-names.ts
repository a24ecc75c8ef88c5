import { ZkError } from '../zk';
import type { WatchEvent, ZkSession, ZnodeStat } from '../zk';

/** What the view does when an event names a member. */
export interface MemberNameHooks {
  /** The node was created or its data changed: read it (again). */
  stale(name: string): void;
  /** The node was deleted: it left, no read needed. */
  gone(name: string): void;
}

/**
 * The member names of one service as a persistent recursive watch on its members node reports them
 * (ZooKeeper ≥ 3.6). A departure costs no read (the deleted event names the node), a join or a
 * record change one getData — never a getChildren of every name per change.
 *
 * Two races are closed here, both because a reply and the notifications behind it can be handled
 * in the "wrong" order (a notification is dispatched synchronously from the socket, a reply's
 * continuation a microtask later):
 * - a listing (getChildren) in flight: every event that arrives meanwhile is applied again on top of
 *   the listing. Events are idempotent set operations, so one the listing already reflects changes
 *   nothing, and one it does not is not lost;
 * - a getData in flight: its answer is dropped when an event named that node after it was issued
 *   (`changedSince`); that event already decided what happens next (a read again, or a departure).
 */
export class MemberNames {
  /** Present names, as the latest listing plus the events since say. */
  readonly names = new Set<string>();
  /** A listing is needed: at start, after a reconnect or a new session, or when the members node itself was created or deleted. */
  resyncNeeded = true;
  private readonly prefix: string;
  /** name → counter value of the latest event that named it, while reads are in flight (from mark() to settle()). */
  private readonly touched = new Map<string, number>();
  private counter = 0;
  /** Reads were issued (mark()) and not settled: events must be remembered for changedSince. */
  private tracking = false;
  private journal: { name: string; deleted: boolean }[] | undefined;
  /** Ends the watch's delivery; undefined while none is armed on the current session. */
  private unwatch: (() => void) | undefined;

  constructor(private readonly session: ZkSession, private readonly membersPath: string, private readonly hooks: MemberNameHooks) {
    this.prefix = `${membersPath}/`;
  }

  get armed(): boolean {
    return this.unwatch !== undefined;
  }

  /**
   * Sets the recursive watch (once per session; `onEvent` refreshes the view). False when the
   * server has no persistent watches (older than 3.6: UNIMPLEMENTED — its answer also closes the
   * connection, the session reconnects).
   */
  async arm(onEvent: (event: WatchEvent) => void): Promise<boolean> {
    if (this.unwatch) return true;
    try {
      // Before the listing, on the same connection: nothing can happen between the two unseen.
      this.unwatch = await this.session.watchRecursive(this.membersPath, (event) => {
        if (this.onEvent(event)) onEvent(event);
      });
      this.resyncNeeded = true;
      return true;
    } catch (error) {
      if (error instanceof ZkError && error.code === 'UNIMPLEMENTED') return false;
      throw error;
    }
  }

  /** Stops listening (stop() of the view), or forgets a watch a lost session took with it. */
  disarm(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    this.resyncNeeded = true;
  }

  /**
   * Lists the members node (no watch: the recursive one covers it). Every listed name is marked
   * stale: after a disconnection a changed record cannot be told from an unchanged one. Resolves
   * with the members node's stat, undefined when it does not exist.
   */
  async list(): Promise<ZnodeStat | undefined> {
    this.resyncNeeded = false;
    this.journal = [];
    let listed: { children: string[]; stat: ZnodeStat } | undefined;
    try {
      listed = await this.session.children(this.membersPath);
    } catch (error) {
      if (!(error instanceof ZkError && error.code === 'NO_NODE')) {
        this.journal = undefined;
        this.resyncNeeded = true;
        throw error;
      }
    }
    const journal = this.journal;
    this.journal = undefined;
    this.names.clear();
    for (const name of listed?.children ?? []) this.names.add(name);
    for (const name of this.names) this.hooks.stale(name);
    for (const e of journal) this.apply(e.name, e.deleted);
    return listed?.stat;
  }

  /** Applies one event of the recursive watch; true when the view must refresh. */
  private onEvent(event: WatchEvent): boolean {
    const path = event.path;
    if (path === this.membersPath) {
      // The members node itself came or went (the service node was created again): list again.
      if (event.type === 'dataChanged') return false;
      this.resyncNeeded = true;
      return true;
    }
    // Only direct children are members; nothing lives below them.
    if (!path.startsWith(this.prefix) || path.indexOf('/', this.prefix.length) !== -1) return false;
    const name = path.slice(this.prefix.length);
    const deleted = event.type === 'deleted';
    this.journal?.push({ name, deleted });
    this.apply(name, deleted);
    return true;
  }

  /** A read of `name` issued at `mark` (see mark()) is out of date. */
  changedSince(name: string, mark: number): boolean {
    const at = this.touched.get(name);
    return at !== undefined && at > mark;
  }

  /** Call before issuing reads; changedSince(name, mark()) tells whether an event named `name` after that. */
  mark(): number {
    this.tracking = true;
    return this.counter;
  }

  /** Call when no read of this view is in flight: the bookkeeping of reads in flight can go. */
  settle(): void {
    if (this.journal !== undefined) return;
    this.tracking = false;
    if (this.touched.size > 0) this.touched.clear();
  }

  private apply(name: string, deleted: boolean): void {
    // Only a read or a listing in flight needs to know (the usual event finds neither: no map entry).
    ++this.counter;
    if (this.tracking || this.journal !== undefined) this.touched.set(name, this.counter);
    if (deleted) {
      this.names.delete(name);
      this.hooks.gone(name);
    } else {
      this.names.add(name);
      this.hooks.stale(name);
    }
  }
}
