import type { Socket } from 'net';
import type { ClientFix } from './client-fix';
import {
  decodeConnectReply, decodePayload, decodeReplyHeader, decodeWatcherEvent, JuteReader, RecordFactory, ReplyFormatError, XID,
} from './reply-decoder';

/**
 * Replaces node-zookeeper-client's ConnectionManager.onSocketData. The original trusts the server:
 * a bad length or a short reply throws out of the socket's 'data' handler (an uncaught exception:
 * the process dies), a huge length allocates it, a negative one loops, leftover bytes of a dead
 * socket are glued to the next connection's first reply, and a chunk holding many replies is
 * re-copied once per reply (quadratic). Here a reply that does not parse is a connection loss —
 * the socket is dropped, pending requests fail with CONNECTION_LOSS, the client reconnects — and a
 * 'malformedReply' event on the connection manager; lengths are capped before anything is buffered.
 */

/** Event emitted on the ConnectionManager for each reply dropped as malformed. */
export const MALFORMED_REPLY_EVENT = 'zkhaMalformedReply';

export interface MalformedReplyInfo {
  /** Short, fixed description; never the bytes themselves. */
  readonly reason: string;
  /** 'connect' for the handshake reply, 'reply' afterwards. */
  readonly phase: 'connect' | 'reply';
  /** Declared frame length (bytes), when one was read. */
  readonly frameBytes: number | undefined;
}

/** Default cap on one reply: 16 MiB (ZooKeeper's own jute.maxbuffer defaults to ~1 MiB per node). */
export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;
/** A reply header is xid (4) + zxid (8) + err (4). */
const REPLY_HEADER_BYTES = 16;
/** protocolVersion + timeOut + sessionId + passwd length. */
const CONNECT_REPLY_MIN_BYTES = 20;

const STATES = { CONNECTING: 1, CONNECTED: 2, CONNECTED_READ_ONLY: 3, SESSION_EXPIRED: -3, AUTHENTICATION_FAILED: -4 } as const;
const OP_PING = 11;
const AUTH_FAILED = -115;
const WATCH_EVENT_TYPES = new Set([1, 2, 3, 4]);

interface Pending {
  /** `decode`: a DirectRequest (direct-get.ts), answered with what it decodes instead of a jute Response. */
  request: { header: { xid: number; type: number }; decode?: (r: JuteReader, chroot: string | undefined) => unknown };
  callback?: (error: unknown, response?: unknown) => void;
}

/** The parts of node-zookeeper-client's ConnectionManager this file uses. */
export interface ConnectionManagerInternals {
  state: number;
  socket?: Socket;
  servers: unknown[];
  serverAttempts: number;
  chrootPath?: string;
  sessionId: Buffer;
  sessionPassword: Buffer;
  zxid: Buffer;
  pingTimeout: number;
  pendingQueue: Pending[];
  watcherManager: { emit(event: unknown): void };
  setState(state: number): void;
  updateTimeout(timeout: number): void;
  onPacketQueueReadable(): void;
  onSocketTimeout(): void;
  queue(request: unknown, callback: (error: unknown) => void): void;
  emit(event: string, ...args: unknown[]): boolean;
  /** Per-client cap set by ZkSession; DEFAULT_MAX_REPLY_BYTES when unset. */
  zkhaMaxReplyBytes?: number;
}

interface JuteModule {
  Response: new (header: unknown, payload: unknown) => unknown;
  Request: new (header: unknown, payload: null) => unknown;
  protocol: { RequestHeader: new (xid: number, type: number) => unknown };
  data: { Stat: { prototype: object }; ACL: { prototype: object }; Id: { prototype: object } };
}
interface ExceptionModule { create(code: number): unknown }

/**
 * Framing state of one socket: the unread chunks (the first one read from `offset`), never
 * concatenated until a whole frame is there, and frames decoded in place (no per-frame slices).
 */
interface Framing {
  socket: Socket | undefined;
  chunks: Buffer[];
  offset: number;
  length: number;
  /** Malformed replies since the last good one: after one per server, reconnects wait the spin delay. */
  streak: number;
}

const framing = new WeakMap<ConnectionManagerInternals, Framing>();

export function installReplyGuard(
  proto: { onSocketData: (this: ConnectionManagerInternals, chunk: Buffer) => void; onSocketTimeout?: (this: ConnectionManagerInternals) => void },
  jute: JuteModule,
  Exception: ExceptionModule,
): void {
  // A ping, without re-arming the socket's idle timeout (startPings sends them).
  proto.onSocketTimeout = function onSocketTimeout(this: ConnectionManagerInternals): void {
    if (this.socket && (this.state === STATES.CONNECTED || this.state === STATES.CONNECTED_READ_ONLY)) {
      this.queue(new jute.Request(new jute.protocol.RequestHeader(XID.PING, OP_PING), null), () => undefined);
    }
  };
  // Records node-zookeeper-client's ACL.fromRecord accepts (it checks instanceof).
  const factory: RecordFactory = {
    stat: () => Object.create(jute.data.Stat.prototype) as ReturnType<RecordFactory['stat']>,
    acl: (perms, scheme, id) => Object.assign(Object.create(jute.data.ACL.prototype) as object, {
      perms, id: Object.assign(Object.create(jute.data.Id.prototype) as object, { scheme, id }),
    }),
  };
  proto.onSocketData = function onSocketData(this: ConnectionManagerInternals, chunk: Buffer, borrowed = false): void {
    onData(this, chunk, factory, jute, Exception);
    // A borrowed chunk (socket-reads.ts) is overwritten by the next read: keep a copy of what is left.
    if (borrowed) own(this);
  };
}

/** Copies the unread bytes still held (an incomplete frame) out of a borrowed chunk. */
function own(cm: ConnectionManagerInternals): void {
  const f = framing.get(cm);
  if (f && f.length > 0) merge(f); // a copy into memory of its own
}

function onData(cm: ConnectionManagerInternals, chunk: Buffer, factory: RecordFactory, jute: JuteModule, Exception: ExceptionModule): void {
  let f = framing.get(cm);
  if (!f) {
    f = { socket: cm.socket, chunks: [], offset: 0, length: 0, streak: 0 };
    framing.set(cm, f);
  }
  if (f.socket !== cm.socket) {
    // A new connection: bytes left over from the previous one are not the start of its first reply.
    f.socket = cm.socket;
    reset(f);
  }
  if (chunk.length > 0) {
    f.chunks.push(chunk);
    f.length += chunk.length;
  }
  const socket = cm.socket;
  const max = cm.zkhaMaxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  while (f.length >= 4) {
    const phase = cm.state === STATES.CONNECTING ? 'connect' : 'reply';
    if (f.chunks[0]!.length - f.offset < 4) merge(f);
    const head = f.chunks[0]!;
    const size = head.readInt32BE(f.offset);
    const min = phase === 'connect' ? CONNECT_REPLY_MIN_BYTES : REPLY_HEADER_BYTES;
    if (size < min || size > max) {
      malformed(cm, f, { reason: `frame length ${size} outside [${min}, ${max}]`, phase, frameBytes: size });
      return;
    }
    if (f.length < size + 4) return; // more is coming; at most `max` bytes are ever held
    if (head.length - f.offset < size + 4) merge(f);
    const buf = f.chunks[0]!;
    const start = f.offset + 4;
    const end = start + size;
    // Consume before decoding: callbacks may re-enter (a reply handler that closes the client).
    f.length -= size + 4;
    if (end === buf.length) {
      f.chunks.shift();
      f.offset = 0;
    } else {
      f.offset = end;
    }
    try {
      if (phase === 'connect') onConnectReply(cm, buf, start, end);
      else onReply(cm, new JuteReader(buf, start, end), factory, jute, Exception);
      f.streak = 0;
    } catch (error) {
      const reason = error instanceof ReplyFormatError
        ? error.reason
        : `client failed on the reply: ${error instanceof Error ? error.message.slice(0, 120) : 'non-error thrown'}`;
      malformed(cm, f, { reason, phase, frameBytes: size });
      return;
    }
    // A callback may have closed or replaced the connection: the rest of this chunk is not for the new one.
    if (cm.socket !== socket || socket?.destroyed) return;
  }
}

/** Joins every unread byte into one chunk (only when a length or a frame spans chunks). */
function merge(f: Framing): void {
  const first = f.chunks[0]!;
  f.chunks[0] = first.subarray(f.offset);
  f.chunks = [Buffer.concat(f.chunks, f.length)];
  f.offset = 0;
}

function reset(f: Framing): void {
  f.chunks = [];
  f.offset = 0;
  f.length = 0;
}

function malformed(cm: ConnectionManagerInternals, f: Framing, info: MalformedReplyInfo): void {
  reset(f);
  f.streak++;
  // A server that keeps answering garbage must not spin the client in a tight reconnect loop.
  if (f.streak >= cm.servers.length) cm.serverAttempts = cm.servers.length;
  try {
    cm.emit(MALFORMED_REPLY_EVENT, info);
  } finally {
    // Closing the socket is the connection loss: pending requests fail with CONNECTION_LOSS and the
    // ConnectionManager reconnects (to the next server of the ensemble).
    cm.socket?.destroy();
  }
}

function onConnectReply(cm: ConnectionManagerInternals, buf: Buffer, start: number, end: number): void {
  const reply = decodeConnectReply(buf, start, end);
  if (reply.timeOut <= 0) {
    cm.setState(STATES.SESSION_EXPIRED);
    return;
  }
  cm.serverAttempts = 0;
  cm.sessionId = reply.sessionId;
  cm.sessionPassword = reply.passwd;
  cm.updateTimeout(reply.timeOut);
  cm.setState(STATES.CONNECTED);
  cm.onPacketQueueReadable();
  startPings(cm);
}

/**
 * Keeps an idle session alive: a ping once nothing was written for a ping period (a third of the
 * session timeout), looked at every half period — at most 1.5 periods of silence, half the session
 * timeout. Not node-zookeeper-client's socket idle timeout: Node re-arms a socket's idle timer on
 * every read and every write, i.e. per notification and per reply of every session — bookkeeping on
 * the hot path for an event that, with ZkSession's probes (writes every period), never fires. Ends
 * with the connection.
 */
function startPings(cm: ConnectionManagerInternals): void {
  const socket = cm.socket;
  if (!socket) return;
  const period = Math.max(2, cm.pingTimeout);
  let written = socket.bytesWritten;
  let quiet = 0;
  const timer = setInterval(() => {
    if (cm.socket !== socket || socket.destroyed) {
      clearInterval(timer);
      return;
    }
    const now = socket.bytesWritten;
    quiet = now === written ? quiet + 1 : 0;
    written = now;
    if (quiet >= 2) {
      quiet = 0;
      cm.onSocketTimeout();
    }
  }, Math.floor(period / 2));
  timer.unref();
}

function onReply(cm: ConnectionManagerInternals, r: JuteReader, factory: RecordFactory, jute: JuteModule, Exception: ExceptionModule): void {
  const xid = r.int('xid');
  switch (xid) {
    case XID.PING:
      return;
    case XID.AUTHENTICATION:
      r.skip(8, 'zxid');
      if (r.int('err') === AUTH_FAILED) cm.setState(STATES.AUTHENTICATION_FAILED);
      return;
    case XID.NOTIFICATION: {
      r.skip(12, 'notification header');
      const event = decodeWatcherEvent(r, cm.chrootPath);
      // Types this client knows; ZooKeeper may add others (persistent-watch removals…): not ours.
      if (WATCH_EVENT_TYPES.has(event.type)) cm.watcherManager.emit(event);
      return;
    }
    default:
      break;
  }
  const header = decodeReplyHeader(r, xid);
  const pending = cm.pendingQueue[0];
  if (!pending) throw new ReplyFormatError(`reply xid ${header.xid} with no request pending`);
  if (pending.request.header.xid !== header.xid) {
    throw new ReplyFormatError(`reply xid ${header.xid} out of order (expected ${pending.request.header.xid})`);
  }
  // Decode before taking the request off the queue: a payload that does not parse leaves it
  // pending, to fail with CONNECTION_LOSS (outcome unknown) when the socket closes.
  const decode = pending.request.decode;
  const payload = header.err !== 0 ? null : decode ? decode.call(pending.request, r, cm.chrootPath) : decodePayload(pending.request.header.type, r, cm.chrootPath, factory);
  const error = header.err === 0 ? null : Exception.create(header.err);
  cm.pendingQueue.shift();
  // Like ZooKeeper's Java client: only a positive zxid moves the last seen zxid.
  if (header.zxid.readBigInt64BE(0) > 0n) cm.zxid = header.zxid;
  pending.callback?.(error, decode ? payload : new jute.Response(header, payload));
}

const GUARDED = Symbol.for('zk-ha.client-fix.reply-guard');

export const replyGuard: ClientFix = {
  name: 'reply-guard',
  apply(): void {
    /* eslint-disable @typescript-eslint/no-require-imports -- internal modules of node-zookeeper-client, untyped */
    const ConnectionManager = require('node-zookeeper-client/lib/ConnectionManager.js') as {
      prototype: { onSocketData: (this: ConnectionManagerInternals, chunk: Buffer) => void; [GUARDED]?: true };
    };
    const jute = require('node-zookeeper-client/lib/jute/index.js') as JuteModule;
    const Exception = require('node-zookeeper-client/lib/Exception.js') as ExceptionModule;
    /* eslint-enable @typescript-eslint/no-require-imports */
    // Another copy of zk-ha in the same process may share this node-zookeeper-client.
    if (ConnectionManager.prototype[GUARDED]) return;
    installReplyGuard(ConnectionManager.prototype, jute, Exception);
    ConnectionManager.prototype[GUARDED] = true;
  },
};
