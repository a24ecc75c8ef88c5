/**
 * A strict, bounded decoder for the replies a ZooKeeper server sends (jute encoding). It replaces
 * node-zookeeper-client's generic jute reader, which trusts every length it reads: a negative
 * length walks backwards (an endless loop), a 2^31 length allocates 2 GiB, a short frame throws
 * from inside the socket handler. Here every length is checked against the bytes actually left in
 * the frame before anything is allocated, and anything that does not parse is a ReplyFormatError.
 */

import type { ZnodeStat } from '../stat';

/** A reply that does not parse. `reason` is short and never echoes the bytes. */
export class ReplyFormatError extends Error {
  constructor(readonly reason: string) {
    super(`malformed ZooKeeper reply: ${reason}`);
    this.name = 'ReplyFormatError';
  }
}

/** ZooKeeper op codes of the requests node-zookeeper-client sends (jute OP_CODES). */
export const OP = {
  CREATE: 1, DELETE: 2, EXISTS: 3, GET_DATA: 4, SET_DATA: 5, GET_ACL: 6, SET_ACL: 7,
  CHECK: 13, MULTI: 14, SET_WATCHES: 101, SET_WATCHES2: 105, ADD_WATCH: 106, CLOSE_SESSION: -11, ERROR: -1,
} as const;

export const XID = { NOTIFICATION: -1, PING: -2, AUTHENTICATION: -4 } as const;

/** jute's Stat, with its longs as 8-byte big-endian Buffers like node-zookeeper-client's. */
export interface RawStat {
  czxid: Buffer; mzxid: Buffer; ctime: Buffer; mtime: Buffer;
  version: number; cversion: number; aversion: number;
  ephemeralOwner: Buffer; dataLength: number; numChildren: number; pzxid: Buffer;
}
const STAT_BYTES = 68;

export interface ConnectReply {
  protocolVersion: number;
  timeOut: number;
  sessionId: Buffer;
  passwd: Buffer;
}

export interface ReplyHeader {
  xid: number;
  zxid: Buffer;
  err: number;
}

export interface WatcherEventRecord {
  type: number;
  state: number;
  path: string;
}

/** Factories for the objects node-zookeeper-client's callbacks expect (it checks `instanceof` on ACL records). */
export interface RecordFactory {
  stat(): RawStat;
  acl(perms: number, scheme: string, id: string): unknown;
}

const plainFactory: RecordFactory = {
  stat: () => ({}) as RawStat,
  acl: (perms, scheme, id) => ({ perms, id: { scheme, id } }),
};

/** Bounds-checked cursor over one frame body. */
export class JuteReader {
  private pos: number;

  constructor(private readonly buf: Buffer, start = 0, private readonly end = buf.length) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) throw new ReplyFormatError(`${what} runs past the end of the frame`);
  }

  int(what = 'int'): number {
    this.need(4, what);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A long as a fresh 8-byte Buffer (callers keep some, e.g. the zxid: never a view of the socket chunk). */
  long(what = 'long'): Buffer {
    this.need(8, what);
    const out = Buffer.allocUnsafe(8);
    this.buf.copy(out, 0, this.pos, this.pos + 8);
    this.pos += 8;
    return out;
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  bool(what = 'boolean'): boolean {
    this.need(1, what);
    const b = this.buf[this.pos++]!;
    if (b > 1) throw new ReplyFormatError(`${what} is not a boolean (${b})`);
    return b === 1;
  }

  /** A length-prefixed byte string; -1 is null (undefined), any other negative length is malformed. */
  buffer(what = 'buffer'): Buffer | undefined {
    const len = this.length(what);
    if (len < 0) return undefined;
    const out = Buffer.allocUnsafe(len);
    this.buf.copy(out, 0, this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  ustring(what = 'string'): string | undefined {
    const len = this.length(what);
    if (len < 0) return undefined;
    const s = len === 0 ? '' : this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  requiredString(what: string): string {
    const s = this.ustring(what);
    if (s === undefined) throw new ReplyFormatError(`${what} is null`);
    return s;
  }

  /** A vector's element count; -1 is null. Each element takes at least `minElementBytes`, checked up front. */
  vectorCount(what: string, minElementBytes: number): number {
    const n = this.int(`${what} count`);
    if (n === -1) return -1;
    if (n < 0) throw new ReplyFormatError(`${what} count is negative (${n})`);
    if (n * minElementBytes > this.end - this.pos) throw new ReplyFormatError(`${what} count ${n} exceeds the frame`);
    return n;
  }

  stat(factory: RecordFactory): RawStat {
    this.need(STAT_BYTES, 'stat');
    const s = factory.stat();
    s.czxid = this.long(); s.mzxid = this.long(); s.ctime = this.long(); s.mtime = this.long();
    s.version = this.int(); s.cversion = this.int(); s.aversion = this.int();
    s.ephemeralOwner = this.long(); s.dataLength = this.int(); s.numChildren = this.int(); s.pzxid = this.long();
    return s;
  }

  /** A Stat decoded straight into ZkSession's ZnodeStat (no Buffer per 64-bit field). */
  znodeStat(): ZnodeStat {
    this.need(STAT_BYTES, 'stat');
    const b = this.buf;
    const p = this.pos;
    this.pos += STAT_BYTES;
    return {
      czxid: b.readBigInt64BE(p),
      mzxid: b.readBigInt64BE(p + 8),
      ctime: Number(b.readBigInt64BE(p + 16)),
      mtime: Number(b.readBigInt64BE(p + 24)),
      version: b.readInt32BE(p + 32),
      cversion: b.readInt32BE(p + 36),
      aversion: b.readInt32BE(p + 40),
      ephemeralOwner: b.toString('hex', p + 44, p + 52),
      dataLength: b.readInt32BE(p + 52),
      numChildren: b.readInt32BE(p + 56),
      pzxid: b.readBigInt64BE(p + 60),
    };
  }

  private length(what: string): number {
    const len = this.int(`${what} length`);
    if (len === -1) return -1;
    if (len < 0) throw new ReplyFormatError(`${what} length is negative (${len})`);
    this.need(len, what);
    return len;
  }
}

/** The first reply on a connection: ConnectResponse {protocolVersion, timeOut, sessionId, passwd[, readOnly]}. */
export function decodeConnectReply(buf: Buffer, start = 0, end = buf.length): ConnectReply {
  const r = new JuteReader(buf, start, end);
  const protocolVersion = r.int('protocolVersion');
  if (protocolVersion !== 0) throw new ReplyFormatError(`unknown protocol version ${protocolVersion}`);
  const timeOut = r.int('timeOut');
  const sessionId = r.long('sessionId');
  const passwd = r.buffer('passwd');
  // ZooKeeper's session passwords are 16 bytes; allow some room, never an arbitrary size.
  if (passwd === undefined || passwd.length > 64) throw new ReplyFormatError('session password missing or too long');
  // Optional readOnly flag (3.4+); nothing else may follow.
  if (r.remaining > 1) throw new ReplyFormatError(`${r.remaining} unexpected bytes after the connect reply`);
  return { protocolVersion, timeOut, sessionId, passwd };
}

/** The rest of a reply header whose xid was read already. */
export function decodeReplyHeader(r: JuteReader, xid: number): ReplyHeader {
  const zxid = r.long('zxid');
  const err = r.int('err');
  return { xid, zxid, err };
}

export function decodeWatcherEvent(r: JuteReader, chroot: string | undefined): WatcherEventRecord {
  const type = r.int('event type');
  const state = r.int('event state');
  const path = stripChroot(r.requiredString('event path'), chroot, 'event path');
  return { type, state, path };
}

/**
 * The payload of a successful reply to a request of type `op`, shaped like node-zookeeper-client's
 * jute records: `null` for ops without one, undefined-op → ReplyFormatError.
 */
export function decodePayload(op: number, r: JuteReader, chroot: string | undefined, factory: RecordFactory = plainFactory): unknown {
  switch (op) {
    case OP.CREATE:
      return { path: stripChroot(r.requiredString('created path'), chroot, 'created path') };
    case OP.DELETE:
    case OP.SET_WATCHES:
    case OP.SET_WATCHES2:
    case OP.CLOSE_SESSION:
      return null;
    case OP.ADD_WATCH:
      // ZooKeeper 3.6+ answers an ErrorResponse {int err} (always 0 on success); nothing to keep.
      return null;
    case OP.EXISTS:
    case OP.SET_DATA:
    case OP.SET_ACL:
      return { stat: r.stat(factory) };
    case OP.GET_DATA: {
      const data = r.buffer('data');
      return { data, stat: r.stat(factory) };
    }
    case 12: { // GET_CHILDREN2
      const n = r.vectorCount('children', 4);
      const children: string[] = [];
      for (let i = 0; i < n; i++) children.push(r.requiredString('child name'));
      return { children, stat: r.stat(factory) };
    }
    case OP.GET_ACL: {
      // perms (4) + scheme length (4) + id length (4)
      const n = r.vectorCount('acl', 12);
      const acl: unknown[] = [];
      for (let i = 0; i < n; i++) {
        const perms = r.int('acl perms');
        acl.push(factory.acl(perms, r.requiredString('acl scheme'), r.requiredString('acl id')));
      }
      return { acl, stat: r.stat(factory) };
    }
    case OP.MULTI:
      return { results: decodeMultiResults(r, chroot, factory) };
    default:
      throw new ReplyFormatError(`reply to an unexpected request type ${op}`);
  }
}

export interface MultiResultRecord {
  type: number;
  path?: string;
  stat?: RawStat;
  err?: number;
}

function decodeMultiResults(r: JuteReader, chroot: string | undefined, factory: RecordFactory): MultiResultRecord[] {
  const results: MultiResultRecord[] = [];
  // Each result starts with a 9-byte MultiHeader, so the loop ends within remaining/9 rounds.
  for (;;) {
    const type = r.int('multi result type');
    const done = r.bool('multi done flag');
    r.int('multi result err');
    if (done) return results;
    switch (type) {
      case OP.CREATE:
        results.push({ type, path: stripChroot(r.requiredString('created path'), chroot, 'created path') });
        break;
      case OP.DELETE:
      case OP.CHECK:
        results.push({ type });
        break;
      case OP.SET_DATA:
        results.push({ type, stat: r.stat(factory) });
        break;
      case OP.ERROR:
        results.push({ type, err: r.int('multi error') });
        break;
      default:
        throw new ReplyFormatError(`unknown multi result type ${type}`);
    }
  }
}

function stripChroot(path: string, chroot: string | undefined, what: string): string {
  if (!chroot) return path;
  if (path === chroot) return '/';
  if (path.startsWith(chroot) && path.charCodeAt(chroot.length) === 47 /* '/' */) return path.slice(chroot.length);
  throw new ReplyFormatError(`${what} is outside the chroot`);
}
