import type { Client } from 'node-zookeeper-client';
import type { ClientFix } from './client-fix';
import { OP } from './reply-decoder';

/**
 * Persistent recursive watches (ZooKeeper ≥ 3.6, `addWatch` with mode PERSISTENT_RECURSIVE) for
 * node-zookeeper-client, which knows only one-shot watches. One such watch on a directory hears
 * created / deleted / dataChanged for the directory and every node below it and is never re-armed:
 * a view of 100 members learns a departure with no read at all and a join with one getData,
 * instead of a getChildren of 100 names per change.
 *
 * What this adds to the library:
 * - the AddWatch request {ustring path, int mode} (opcode 106; its reply carries nothing we keep);
 * - event routing: the server sends ONE notification per node change and session, whichever watches
 *   matched, so each notification goes to the recursive watchers of every ancestor path as well as
 *   to the library's one-shot watchers (ZooKeeper never sends childrenChanged for a recursive watch;
 *   one caused by a one-shot children watch is not passed on to recursive watchers);
 * - re-registration on every new connection of the same session: a SetWatches2 request (opcode
 *   105: relativeZxid, then data, exist, child, persistent and persistent-recursive path vectors)
 *   is queued behind the library's own SetWatches. ZooKeeper does not replay what happened while the
 *   client was disconnected for persistent watches: owners must read their state again after a
 *   reconnect (ZkSession's 'reconnected' event), and after a new session (the watches are gone).
 *
 * Removal is local: the listener is dropped, and the server-side watch stays until the session ends
 * (its events are ignored). ZooKeeper 3.6–3.8 remove every watch of a session on a path at once
 * (RemoveWatches type Any), which would also take one-shot watches another user set on that path.
 */
const PERSISTENT_RECURSIVE = 1;
const NODE_CHILDREN_CHANGED = 4;

export interface PersistentWatchEvent {
  readonly type: number;
  readonly path: string;
}
export type PersistentWatcher = (event: PersistentWatchEvent) => void;

/** Recursive watchers of one client (keyed by its WatcherManager): watched path → listeners. */
type Registry = Map<string, Set<PersistentWatcher>>;
// Shared through the global registry: another copy of zk-ha in the process patches the library only
// once, and its routing must find the watches this copy registers.
const REGISTRIES = Symbol.for('zk-ha.client-fix.persistent-watch.registries');
const registries: WeakMap<object, Registry> = ((globalThis as { [REGISTRIES]?: WeakMap<object, Registry> })[REGISTRIES] ??= new WeakMap());

interface RawRequestHeader { type: number; xid: number }
interface JuteModule {
  Request: new (header: RawRequestHeader, payload: Payload) => unknown;
  protocol: { RequestHeader: new () => RawRequestHeader };
}
interface Manager {
  watcherManager: object;
  zxid: Buffer;
  queue(request: unknown, callback: (error: unknown) => void): void;
  onSocketConnected(): void;
}
interface WatcherManagerProto { emit(this: object, event: PersistentWatchEvent): void }

/** A request body in the shape node-zookeeper-client's Request.toBuffer and queue() use. */
interface Payload {
  byteLength(): number;
  serialize(buffer: Buffer, offset: number): number;
  setChrootPath(chroot: string | undefined): void;
}

function chrooted(chroot: string | undefined, path: string): string {
  if (!chroot) return path;
  return path === '/' ? chroot : chroot + path;
}

/** AddWatchRequest {ustring path; int mode}. */
class AddWatchPayload implements Payload {
  private chroot: string | undefined;
  constructor(private readonly path: string, private readonly mode: number) {}
  setChrootPath(chroot: string | undefined): void { this.chroot = chroot; }
  byteLength(): number { return 4 + Buffer.byteLength(chrooted(this.chroot, this.path)) + 4; }
  serialize(buffer: Buffer, offset: number): number {
    let at = writeString(buffer, offset, chrooted(this.chroot, this.path));
    at = buffer.writeInt32BE(this.mode, at);
    return at - offset;
  }
}

/** SetWatches2 {long relativeZxid; vector<ustring> data, exist, child, persistent, persistentRecursive}. */
class SetWatches2Payload implements Payload {
  private chroot: string | undefined;
  constructor(private readonly zxid: Buffer, private readonly recursive: readonly string[]) {}
  setChrootPath(chroot: string | undefined): void { this.chroot = chroot; }
  private paths(): string[] { return this.recursive.map((p) => chrooted(this.chroot, p)); }
  byteLength(): number {
    return 8 + 4 * 5 + this.paths().reduce((n, p) => n + 4 + Buffer.byteLength(p), 0);
  }
  serialize(buffer: Buffer, offset: number): number {
    let at = offset + this.zxid.copy(buffer, offset, 0, 8);
    for (let i = 0; i < 4; i++) at = buffer.writeInt32BE(0, at); // data, exist, child, persistent: none
    const paths = this.paths();
    at = buffer.writeInt32BE(paths.length, at);
    for (const p of paths) at = writeString(buffer, at, p);
    return at - offset;
  }
}

function writeString(buffer: Buffer, offset: number, s: string): number {
  const n = buffer.write(s, offset + 4);
  buffer.writeInt32BE(n, offset);
  return offset + 4 + n;
}

let jute: JuteModule | undefined;

function request(type: number, payload: Payload): unknown {
  if (!jute) throw new Error('persistent-watch client fix not applied');
  const header = new jute.protocol.RequestHeader();
  header.type = type;
  return new jute.Request(header, payload);
}

/**
 * Sends addWatch(path, PERSISTENT_RECURSIVE); once the server has accepted it, `watcher` hears every
 * created / deleted / dataChanged at or below `path`. `callback` gets the server's error, if any
 * (UNIMPLEMENTED from a ZooKeeper older than 3.6).
 */
export function addRecursiveWatch(client: Client, path: string, watcher: PersistentWatcher, callback: (error: unknown) => void): void {
  const cm = client.connectionManager as unknown as Manager;
  cm.queue(request(OP.ADD_WATCH, new AddWatchPayload(path, PERSISTENT_RECURSIVE)), (error) => {
    // Registered in the reply's own callback: a notification right behind the reply must find it.
    if (!error) {
      let registry = registries.get(cm.watcherManager);
      if (!registry) registries.set(cm.watcherManager, (registry = new Map()));
      let set = registry.get(path);
      if (!set) registry.set(path, (set = new Set()));
      set.add(watcher);
    }
    callback(error ?? null);
  });
}

/** Stops delivering to `watcher` (the server-side watch stays until the session ends; see above). */
export function removeRecursiveWatch(client: Client, path: string, watcher: PersistentWatcher): void {
  const registry = registries.get((client.connectionManager as unknown as Manager).watcherManager);
  const set = registry?.get(path);
  if (!set) return;
  set.delete(watcher);
  if (set.size === 0) registry!.delete(path);
}

/** Paths with recursive watchers on this client (for tests and diagnostics). */
export function recursiveWatchPaths(client: Client): string[] {
  return [...(registries.get((client.connectionManager as unknown as Manager).watcherManager)?.keys() ?? [])];
}

function dispatch(registry: Registry, event: PersistentWatchEvent): void {
  const path = event.path;
  // forEach, not for..of over entries: no [key, value] array per watched path on every notification.
  registry.forEach((listeners, watched) => {
    const covers = path === watched || watched === '/'
      || (path.length > watched.length && path.charCodeAt(watched.length) === 47 /* '/' */ && path.startsWith(watched));
    if (!covers) return;
    const delivered: PersistentWatchEvent = { type: event.type, path };
    listeners.forEach((fn) => fn(delivered));
  });
}

const FIXED = Symbol.for('zk-ha.client-fix.persistent-watch');

export const persistentWatch: ClientFix = {
  name: 'persistent-watch',
  apply(): void {
    /* eslint-disable @typescript-eslint/no-require-imports -- internal modules of node-zookeeper-client, untyped */
    const ConnectionManager = require('node-zookeeper-client/lib/ConnectionManager.js') as { prototype: Manager & { [FIXED]?: true } };
    const WatcherManager = require('node-zookeeper-client/lib/WatcherManager.js') as { prototype: WatcherManagerProto };
    jute = require('node-zookeeper-client/lib/jute/index.js') as JuteModule;
    /* eslint-enable @typescript-eslint/no-require-imports */
    const cmProto = ConnectionManager.prototype;
    // Another copy of zk-ha in the same process may share this node-zookeeper-client.
    if (cmProto[FIXED]) return;

    const emit = WatcherManager.prototype.emit;
    WatcherManager.prototype.emit = function (this: object, event: PersistentWatchEvent): void {
      const registry = registries.get(this);
      if (registry !== undefined && registry.size > 0 && event.type !== NODE_CHILDREN_CHANGED) dispatch(registry, event);
      emit.call(this, event);
    };

    const onSocketConnected = cmProto.onSocketConnected;
    cmProto.onSocketConnected = function (this: Manager): void {
      onSocketConnected.call(this);
      const registry = registries.get(this.watcherManager);
      // Queued while connecting: it leaves right after the connect request (and the library's
      // SetWatches), before any request issued after the reconnect — but after those issued while
      // cut off, which waited in the queue already: their answers come first (views read again on
      // 'reconnected', so nothing here relies on that order).
      if (registry !== undefined && registry.size > 0) {
        this.queue(request(OP.SET_WATCHES2, new SetWatches2Payload(this.zxid, [...registry.keys()])), () => undefined);
      }
    };
    cmProto[FIXED] = true;
  },
};
