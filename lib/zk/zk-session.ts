import * as nzc from 'node-zookeeper-client';
import { monotonicMs } from '../base/clock';
import { AclEntry, fromRawAcls, toRawAcls } from './acl';
// Straight from the fix (not its index): its node-zookeeper-client types stay out of the published declarations.
import { directGetData } from './client-fixes/direct-get';
import { addRecursiveWatch, removeRecursiveWatch } from './client-fixes/persistent-watch';
import { SessionConnection } from './session-connection';
import type { CreateMode, MultiOp, MultiResult, WatchFn } from './session-types';
import { toZnodeStat, ZnodeStat } from './stat';
import { ZkError } from './zk-error';

const MODE: Record<CreateMode, number> = {
  persistent: nzc.CreateMode.PERSISTENT,
  'persistent-sequential': nzc.CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeral: nzc.CreateMode.EPHEMERAL,
  'ephemeral-sequential': nzc.CreateMode.EPHEMERAL_SEQUENTIAL,
};

/**
 * A ZooKeeper session that survives every fault: a promise API over node-zookeeper-client plus
 * the pieces it lacks — request timeouts, a read-timeout watchdog, a local expiry timer, a new
 * session after expiry, and the lease clock (all in SessionConnection, session-connection.ts).
 * This file holds the znode operations.
 */
export class ZkSession extends SessionConnection {
  // ---- operations -------------------------------------------------------------------------

  async create(path: string, data?: Buffer | string, opts: { mode?: CreateMode; acl?: readonly AclEntry[] } = {}): Promise<string> {
    const mode = MODE[opts.mode ?? 'persistent'];
    if (mode === undefined) throw new ZkError('BAD_ARGUMENTS', `create ${path}: unknown mode ${String(opts.mode)}`, { path, sent: false });
    const acls = this.rawAcls(opts.acl);
    return this.request<string>('create', path, true, (c, cb) => c.create(path, toBuffer(data), acls, mode, cb));
  }

  get(path: string, opts: { watch?: WatchFn } = {}): Promise<{ data: Buffer; stat: ZnodeStat }> {
    // The most frequent request of all (a watching client's read of every join): no client layers,
    // and not async (request() never throws; an async wrapper would add a promise hop per read).
    return this.request('get', path, false, (c, cb) => directGetData(c, path, this.wrapWatch(c, opts.watch), cb));
  }

  async set(path: string, data: Buffer | string, version = -1): Promise<ZnodeStat> {
    return this.request('set', path, true, (c, cb) =>
      c.setData(path, toBuffer(data), version, (err, stat) => cb(err, err ? undefined : toZnodeStat(stat))));
  }

  async delete(path: string, version = -1): Promise<void> {
    return this.request<void>('delete', path, true, (c, cb) => c.remove(path, version, (err) => cb(err, undefined)));
  }

  async exists(path: string, opts: { watch?: WatchFn } = {}): Promise<ZnodeStat | null> {
    return this.request('exists', path, false, (c, cb) =>
      c.exists(path, this.wrapWatch(c, opts.watch), (err, stat) => cb(err, err ? undefined : stat ? toZnodeStat(stat) : null)));
  }

  async children(path: string, opts: { watch?: WatchFn } = {}): Promise<{ children: string[]; stat: ZnodeStat }> {
    return this.request('children', path, false, (c, cb) =>
      c.getChildren(path, this.wrapWatch(c, opts.watch), (err, children, stat) =>
        cb(err, err ? undefined : { children, stat: toZnodeStat(stat) })),
    );
  }

  /**
   * A persistent recursive watch (ZooKeeper ≥ 3.6): `watch` hears created / deleted / dataChanged
   * of `path` and of every node below it, for as long as this session lives — it survives
   * reconnects, but changes made while disconnected are not replayed (read again on 'reconnected'),
   * and a new session ('session') has none. Resolves with the function that stops it. A server
   * older than 3.6 rejects it with UNIMPLEMENTED.
   */
  async watchRecursive(path: string, watch: WatchFn): Promise<() => void> {
    return this.request('addWatch', path, false, (c, cb) => {
      const fn = this.wrapWatch(c, watch)!;
      addRecursiveWatch(c, path, fn, (err) => cb(err, err ? undefined : () => removeRecursiveWatch(c, path, fn)));
    });
  }

  async getAcl(path: string): Promise<{ acl: AclEntry[]; stat: ZnodeStat }> {
    return this.request('getAcl', path, false, (c, cb) =>
      c.getACL(path, (err, acls, stat) => cb(err, err ? undefined : { acl: fromRawAcls(acls), stat: toZnodeStat(stat) })));
  }

  async setAcl(path: string, acl: readonly AclEntry[], version = -1): Promise<ZnodeStat> {
    const raw = toRawAcls(acl);
    return this.request('setAcl', path, true, (c, cb) =>
      c.setACL(path, raw, version, (err, stat) => cb(err, err ? undefined : toZnodeStat(stat))));
  }

  /**
   * Atomic multi-op. Versions are sent as given: node-zookeeper-client turns version 0 into -1
   * ("any version") with `version || -1`, so the ops are written into the transaction directly.
   */
  async multi(ops: readonly MultiOp[]): Promise<MultiResult[]> {
    return this.request('multi', ops[0]?.path, true, (c, cb) => {
      const tx = c.transaction();
      for (const op of ops) {
        switch (op.op) {
          case 'create':
            tx.create(op.path, toBuffer(op.data) ?? Buffer.alloc(0), this.rawAcls(op.acl), MODE[op.mode ?? 'persistent']);
            break;
          case 'check':
            tx.check(op.path, op.version === 0 ? 1 : op.version);
            tx.ops[tx.ops.length - 1]!.version = op.version;
            break;
          case 'set':
            tx.setData(op.path, toBuffer(op.data) ?? null, op.version === 0 ? 1 : op.version);
            tx.ops[tx.ops.length - 1]!.version = op.version ?? -1;
            break;
          case 'delete':
            tx.remove(op.path, op.version === 0 ? 1 : op.version);
            tx.ops[tx.ops.length - 1]!.version = op.version ?? -1;
            break;
        }
      }
      tx.commit((err, results) => {
        if (err) {
          cb(err, undefined);
          return;
        }
        cb(null, results.map((r, i) => ({ op: ops[i]!.op, path: r.path, stat: r.stat ? toZnodeStat(r.stat) : undefined })));
      });
    });
  }

  /** Creates `path` and every missing ancestor as persistent nodes; `data` goes on the last one. */
  async mkdirp(path: string, data?: Buffer | string, opts: { acl?: readonly AclEntry[] } = {}): Promise<void> {
    const parts = path.split('/').filter(Boolean);
    let current = '';
    for (let i = 0; i < parts.length; i++) {
      current += `/${parts[i]}`;
      const last = i === parts.length - 1;
      try {
        await this.create(current, last ? data : undefined, { acl: opts.acl });
      } catch (error) {
        if (!(error instanceof ZkError) || error.code !== 'NODE_EXISTS') throw error;
      }
    }
  }

  /** Deletes `path` and everything below it, depth first; a node that is already gone is fine. */
  async deleteRecursive(path: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let kids: string[];
      try {
        kids = (await this.children(path)).children;
      } catch (error) {
        if (error instanceof ZkError && error.code === 'NO_NODE') return;
        throw error;
      }
      for (const kid of kids) await this.deleteRecursive(path === '/' ? `/${kid}` : `${path}/${kid}`);
      if (path === '/') return;
      try {
        await this.delete(path);
        return;
      } catch (error) {
        if (error instanceof ZkError && error.code === 'NO_NODE') return;
        // A child appeared meanwhile: go round again, a bounded number of times.
        if (error instanceof ZkError && error.code === 'NOT_EMPTY' && attempt < 10) continue;
        throw error;
      }
    }
  }

  /**
   * Runs `op` again after CONNECTION_LOSS or TIMEOUT, with backoff, until it succeeds, fails
   * otherwise, or the session is lost or closed. Only for operations that are safe to repeat.
   */
  async retry<T>(op: () => Promise<T>, opts: { maxMs?: number } = {}): Promise<T> {
    const started = monotonicMs();
    const maxMs = opts.maxMs ?? this.negotiatedTimeoutMs * 2;
    const sessionAtStart = this.generation;
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (error) {
        const retryable = error instanceof ZkError && error.retryable;
        if (!retryable || this.generation !== sessionAtStart || this.currentState === 'closed' || monotonicMs() - started > maxMs) throw error;
        await delay(Math.min(50 * 2 ** attempt, 1000) * (0.5 + Math.random() / 2));
      }
    }
  }

  protected sendProbe(): Promise<unknown> {
    return this.options.leaseProbe === 'write' ? this.multi([{ op: 'check', path: '/', version: -1 }]) : this.exists('/');
  }

  private rawAcls(acl: readonly AclEntry[] | undefined): nzc.ACL[] {
    const entries = acl ?? this.options.defaultAcl;
    return entries ? toRawAcls(entries) : nzc.ACL.OPEN_ACL_UNSAFE;
  }
}

function toBuffer(data: Buffer | string | undefined): Buffer | null {
  if (data === undefined) return null;
  return typeof data === 'string' ? Buffer.from(data) : data;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
