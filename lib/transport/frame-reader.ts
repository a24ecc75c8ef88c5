import type { WebSocket } from 'ws';

/** The parts of ws's Receiver (ws/lib/receiver.js) the reader relies on; checked at install. */
interface WsReceiver {
  write(chunk: Buffer): boolean;
  /** ws's parser state: 0 = at a frame boundary (GET_INFO). */
  _state: number;
  _bufferedBytes: number;
  _fragmented: number;
  _errored: boolean;
  _maxPayload: number;
  _isServer: boolean;
  _extensions: Record<string, unknown>;
  /** false would defer ws's events to setImmediate, and frames would no longer arrive in order. */
  _allowSynchronousEvents: boolean;
}

const FIN_BINARY = 0x82;
const MASK_BIT = 0x80;
const OPCODE_CLOSE = 0x08;
/** First allocation for a frame that spans socket reads (grows by doubling up to the frame's size). */
const MIN_PENDING = 64 * 1024;

function receiverOf(ws: WebSocket): WsReceiver | undefined {
  const r = (ws as unknown as { _receiver?: Partial<WsReceiver> })._receiver;
  if (
    r === undefined || r === null || typeof r.write !== 'function' || r._state !== 0 || r._bufferedBytes !== 0 || r._fragmented !== 0 ||
    r._errored !== false || r._allowSynchronousEvents !== true || typeof r._maxPayload !== 'number' || typeof r._isServer !== 'boolean' ||
    typeof r._extensions !== 'object' || r._extensions === null || Object.keys(r._extensions).length > 0
  ) return undefined;
  return r as WsReceiver;
}

/**
 * The receive path of the hot loop, before ws's Receiver: it sits in the receiver's `write`
 * (where ws's socket 'data' and 'close' handlers feed it) and takes out what an RPC connection
 * mostly gets: whole, final, unmasked-or-zero-masked binary frames within maxPayload, handed
 * straight to `onBinary`. Everything else goes on to ws's own receiver byte for byte and frame
 * by frame, in order: control frames (ping, pong, close), text and fragmented messages (and
 * whatever arrives while a fragmented message is open), frames with RSV bits, the wrong masking
 * for this end, a random masking key (browsers), over maxPayload or with an impossible length.
 * So ws keeps deciding every protocol error, close code and control frame exactly as before;
 * after a close frame or an error everything goes to ws, which ignores it. ws's per-frame cost
 * (a Writable write, its buffer list and slices, two event emits) was 5–8 % of each side's CPU
 * at small payloads.
 */
export class FrameReader {
  /** Bytes of the ws-bound frame still to come (its head went to ws already). */
  private passRemaining = 0;
  /** Between a fragmented message's first frame and its final one: all frames go to ws. */
  private fragmented = false;
  /** After a close frame or a protocol error: everything goes to ws. */
  private wsOnly = false;
  /** The start of a header cut by the end of a read (under 14 bytes: 2 + 8 of length + 4 of mask). */
  private head: Buffer | undefined;
  /** A lean frame cut by the end of a read: its bytes so far, its length, its header length. */
  private pending: Buffer | undefined;
  private pendingLen = 0;
  private need = 0;
  private pendingHeader = 0;

  private constructor(
    private readonly receiver: WsReceiver,
    private readonly forward: (chunk: Buffer) => boolean,
    private readonly onBinary: (data: Buffer) => void,
  ) {}

  /**
   * Puts a reader in front of `ws`'s receiver; undefined (ws reads everything, as before) when
   * the receiver is not the one this was written against or not at a frame boundary.
   */
  static install(ws: WebSocket, onBinary: (data: Buffer) => void): FrameReader | undefined {
    const receiver = receiverOf(ws);
    if (receiver === undefined) return undefined;
    const reader = new FrameReader(receiver, receiver.write.bind(receiver), onBinary);
    receiver.write = (chunk: Buffer): boolean => reader.write(chunk);
    return reader;
  }

  /** Bytes held for a frame cut by the end of a read. */
  get heldBytes(): number {
    return (this.head?.length ?? 0) + this.pendingLen;
  }

  private write(chunk: Buffer): boolean {
    if (this.wsOnly) return this.forward(chunk);
    let buf = chunk;
    let off = 0;
    let ok = true;
    if (this.passRemaining > 0) {
      const n = Math.min(this.passRemaining, buf.length);
      this.passRemaining -= n;
      ok = this.forward(n === buf.length ? buf : buf.subarray(0, n));
      off = n;
      if (this.receiver._errored) this.wsOnly = true;
      if (off === buf.length || this.wsOnly) return ok;
    } else if (this.pending !== undefined) {
      off = this.fillPending(buf);
      if (this.pending !== undefined) return true;
    } else if (this.head !== undefined) {
      buf = Buffer.concat([this.head, buf]);
      this.head = undefined;
    }
    return this.parse(buf, off) && ok;
  }

  /** Frames from `buf[off]` on: lean ones to onBinary, the others to ws; a cut one is kept. */
  private parse(buf: Buffer, off: number): boolean {
    const isServer = this.receiver._isServer;
    const maxPayload = this.receiver._maxPayload;
    let ok = true;
    while (off < buf.length) {
      const avail = buf.length - off;
      if (avail < 2) {
        this.head = buf.subarray(off);
        return ok;
      }
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      const len7 = b1 & 0x7f;
      const masked = (b1 & MASK_BIT) !== 0;
      const header = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      if (avail < header) {
        this.head = buf.subarray(off);
        return ok;
      }
      let len = len7;
      if (len7 === 126) {
        len = buf.readUInt16BE(off + 2);
      } else if (len7 === 127) {
        const hi = buf.readUInt32BE(off + 2);
        // Over 2^53 - 1: ws answers 1009; it gets the rest as is.
        if (hi > 0x1fffff) {
          this.wsOnly = true;
          return this.forward(buf.subarray(off)) && ok;
        }
        len = hi * 0x100000000 + buf.readUInt32BE(off + 6);
      }
      const total = header + len;
      const lean =
        b0 === FIN_BINARY && !this.fragmented && masked === isServer && (maxPayload === 0 || len <= maxPayload) &&
        (!masked || buf.readUInt32BE(off + header - 4) === 0);
      if (lean) {
        if (avail < total) {
          this.startPending(buf, off, total, header);
          return ok;
        }
        off += total;
        this.onBinary(buf.subarray(off - len, off));
        continue;
      }
      // ws's frame: note what it does to the message state, then hand it over whole or in part.
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if ((opcode === 1 || opcode === 2) && !fin) this.fragmented = true;
      else if (opcode === 0 && fin) this.fragmented = false;
      if (opcode === OPCODE_CLOSE) this.wsOnly = true;
      if (avail >= total) {
        ok = this.forward(buf.subarray(off, off + total)) && ok;
        off += total;
      } else {
        ok = this.forward(buf.subarray(off)) && ok;
        this.passRemaining = total - avail;
        off = buf.length;
      }
      if (this.receiver._errored) {
        // ws rejected it and is closing the connection; like ws, ignore what follows.
        this.wsOnly = true;
        return ok;
      }
      if (this.wsOnly) {
        if (off < buf.length) ok = this.forward(buf.subarray(off)) && ok;
        return ok;
      }
    }
    return ok;
  }

  /** Keeps the start of a lean frame cut by the end of a read. */
  private startPending(buf: Buffer, off: number, total: number, header: number): void {
    const have = buf.length - off;
    // Grown as bytes arrive, so that a header announcing a large frame costs no more memory than what was sent.
    this.pending = Buffer.allocUnsafe(Math.min(total, Math.max(MIN_PENDING, 2 * have)));
    buf.copy(this.pending, 0, off);
    this.pendingLen = have;
    this.need = total;
    this.pendingHeader = header;
  }

  /** Adds the next read to the cut frame; when complete, delivers it. Returns how much of `buf` it took. */
  private fillPending(buf: Buffer): number {
    let pending = this.pending!;
    const take = Math.min(this.need - this.pendingLen, buf.length);
    if (this.pendingLen + take > pending.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.need, Math.max(2 * pending.length, this.pendingLen + take)));
      pending.copy(grown, 0, 0, this.pendingLen);
      pending = grown;
      this.pending = grown;
    }
    buf.copy(pending, this.pendingLen, 0, take);
    this.pendingLen += take;
    if (this.pendingLen === this.need) {
      this.pending = undefined;
      this.pendingLen = 0;
      this.onBinary(pending.subarray(this.pendingHeader, this.need));
    }
    return take;
  }
}
