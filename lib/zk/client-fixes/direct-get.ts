import type { Client } from 'node-zookeeper-client';
import type { ZnodeStat } from '../stat';
import { JuteReader, OP } from './reply-decoder';

/**
 * getData without node-zookeeper-client's per-request layers. Its getData builds three jute record
 * objects, serializes them through its generic (regex-driven) writer, runs the request through an
 * `async.whilst` retry loop (ZkSession asks for no retries), and its reply arrives as 8-byte
 * Buffers per 64-bit field that ZkSession turns into bigints. Every watching client pays this for
 * every join it reads (1000 getData per join in bench:scale). Here the request is written straight
 * into one Buffer and the reply guard decodes the answer straight into {data, ZnodeStat}.
 * Everything else is the library's: its path validation, its queue (order, xids, the pending queue,
 * what happens on a lost connection), its data watch registration on success.
 */

/** A request the reply guard decodes with the request's own `decode` and answers as `callback(error, decoded)`. */
export interface DirectRequest {
  readonly header: { readonly type: number; xid: number };
  readonly payload: { setChrootPath(chroot: string | undefined): void };
  toBuffer(): Buffer;
  decode(r: JuteReader, chroot: string | undefined): unknown;
}

export interface DirectGetResult { data: Buffer; stat: ZnodeStat }

interface Manager {
  queue(request: DirectRequest, callback: (error: unknown, result?: DirectGetResult) => void): void;
  registerDataWatcher(path: string, watcher: (event: never) => void): void;
}

class GetDataRequest implements DirectRequest {
  readonly header = { type: OP.GET_DATA, xid: 0 };
  private chroot: string | undefined;

  constructor(private readonly path: string, private readonly watch: boolean) {}

  get payload(): this {
    return this;
  }

  setChrootPath(chroot: string | undefined): void {
    this.chroot = chroot;
  }

  /** length, RequestHeader {xid, type}, GetDataRequest {ustring path, boolean watch}. */
  toBuffer(): Buffer {
    const path = !this.chroot ? this.path : this.path === '/' ? this.chroot : this.chroot + this.path;
    const n = Buffer.byteLength(path);
    const buf = Buffer.allocUnsafe(4 + 8 + 4 + n + 1);
    buf.writeInt32BE(buf.length - 4, 0);
    buf.writeInt32BE(this.header.xid, 4);
    buf.writeInt32BE(this.header.type, 8);
    buf.writeInt32BE(n, 12);
    buf.write(path, 16);
    buf[16 + n] = this.watch ? 1 : 0;
    return buf;
  }

  decode(r: JuteReader): DirectGetResult {
    const data = r.buffer('data') ?? Buffer.alloc(0);
    return { data, stat: r.znodeStat() };
  }
}

let validatePath: ((path: string) => void) | undefined;

/** Client.getData(path, watcher?, callback), minus the layers above; `callback` gets the ZnodeStat. */
export function directGetData(
  client: Client, path: string, watcher: ((event: never) => void) | undefined,
  callback: (error: unknown, result?: DirectGetResult) => void,
): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- internal module of node-zookeeper-client, untyped
  validatePath ??= (require('node-zookeeper-client/lib/Path.js') as { validate(path: string): void }).validate;
  validatePath(path);
  const cm = client.connectionManager as unknown as Manager;
  cm.queue(new GetDataRequest(path, watcher !== undefined), (error, result) => {
    if (error) {
      callback(error);
      return;
    }
    if (watcher) cm.registerDataWatcher(path, watcher);
    callback(null, result);
  });
}
