import { EventEmitter } from 'events';
import type { ClientFix } from './client-fix';

/**
 * node-zookeeper-client registers every watch by validating the path again (two regexes; the
 * request already validated it), copying the path's listener array and scanning it for a duplicate.
 * Every watching client pays this on every notification it re-arms (a tenth of a view's CPU per
 * change in bench:scale). Here the common case — no watcher on that path yet — skips straight to
 * adding it; a path that already has watchers keeps the library's duplicate check.
 */
const FAST = Symbol.for('zk-ha.client-fix.watcher-registration');

type Watcher = (event: unknown) => void;
type Registry = Record<string, EventEmitter | undefined>;
interface Manager { dataWatchers: Registry; childWatchers: Registry; existenceWatchers: Registry }
type Register = (this: Manager, path: string, watcher: Watcher) => void;

export const watcherRegistration: ClientFix = {
  name: 'watcher-registration',
  apply(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- internal module of node-zookeeper-client, untyped
    const WatcherManager = require('node-zookeeper-client/lib/WatcherManager.js') as {
      prototype: Record<'registerDataWatcher' | 'registerChildWatcher' | 'registerExistenceWatcher', Register> & { [FAST]?: true };
    };
    const proto = WatcherManager.prototype;
    if (proto[FAST]) return;
    const fast = (registry: keyof Manager, original: Register): Register => function register(this: Manager, path, watcher) {
      const watchers = this[registry];
      const emitter = watchers[path];
      if (emitter === undefined && typeof watcher === 'function') {
        (watchers[path] = new EventEmitter()).once('notification', watcher);
        return;
      }
      original.call(this, path, watcher);
    };
    proto.registerDataWatcher = fast('dataWatchers', proto.registerDataWatcher);
    proto.registerChildWatcher = fast('childWatchers', proto.registerChildWatcher);
    proto.registerExistenceWatcher = fast('existenceWatchers', proto.registerExistenceWatcher);
    proto[FAST] = true;
  },
};
