import type { Duplex } from 'node:stream';

/** Payloads above this go out as their own chunk of a writev instead of being copied into the batch. */
const COPY_LIMIT = 16 * 1024;
/** Masking key of client frames: all zeros, so the payload goes out as is (RFC 6455 only requires a key). */
const MASK_BYTES = 4;
/** Largest batch buffer kept for reuse (one per process, see `spare`). */
const SPARE_LIMIT = 512 * 1024;

/**
 * One batch buffer shared by every writer of the process: a flush runs to its end before another
 * starts, and a buffer the socket wrote whole at once (nothing left queued) is free again. Reusing
 * it saves an allocation per batch (and its garbage), and the copy goes to memory in the cache.
 */
let spare: Buffer | undefined;

function batchBuffer(size: number): Buffer {
  const s = spare;
  if (s !== undefined && s.length >= size) {
    spare = undefined;
    return s;
  }
  // Small batches get a page, so that the next ones, about the same size, fit the same buffer.
  return Buffer.allocUnsafeSlow(Math.max(4096, size));
}

function headerLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
  return masked ? base + MASK_BYTES : base;
}

/** Writes the header of one final binary frame at `pos`; returns the position after it. */
function writeHeader(out: Buffer, pos: number, payloadLength: number, masked: boolean): number {
  const maskBit = masked ? 0x80 : 0;
  out[pos++] = 0x82; // FIN + binary
  if (payloadLength < 126) {
    out[pos++] = maskBit | payloadLength;
  } else if (payloadLength < 65536) {
    out[pos++] = maskBit | 126;
    out[pos++] = payloadLength >>> 8;
    out[pos++] = payloadLength & 0xff;
  } else {
    out[pos++] = maskBit | 127;
    // 64-bit length; frames are far below 2^53.
    const hi = Math.floor(payloadLength / 0x100000000);
    out.writeUInt32BE(hi, pos);
    out.writeUInt32BE(payloadLength >>> 0, pos + 4);
    pos += 8;
  }
  if (masked) {
    out[pos++] = 0;
    out[pos++] = 0;
    out[pos++] = 0;
    out[pos++] = 0;
  }
  return pos;
}

/**
 * The send path of the hot loop, past ws's Sender: WebSocket binary frames written straight to
 * the socket, every frame queued in one tick in ONE socket write (headers and small payloads
 * copied into one buffer; large payloads appended as their own chunks of one writev). ws.send
 * costs an options object, a header buffer and two stream writes per frame; at c=128 small
 * calls that was a large share of each side's CPU per call. Client frames carry an all-zero
 * masking key (RFC 6455 requires the key, not a random one; browsers' intermediaries are not
 * in this path), so payloads are never XORed.
 *
 * Frames are whole and written in order, so ws's own control frames (ping, pong, close) can
 * only fall between two of them. Call `flush()` before closing the socket to send what is queued.
 */
export class FrameWriter {
  private frames: Buffer[] = [];
  private queuedBytes = 0;
  private scheduled = false;

  constructor(
    private readonly socket: Duplex,
    /** true on the client side (frames must carry a masking key). */
    private readonly masked: boolean,
    /**
     * Called after each batch is handed to the socket. A write the kernel takes whole at once
     * returns true and is followed by no 'drain', so whoever held back for pendingBytes must
     * look again here.
     */
    private readonly onFlushed?: () => void,
  ) {}

  /** Bytes queued this tick, not yet handed to the socket. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Queues one binary message; it leaves with the rest of this tick's frames. */
  write(payload: Buffer): void {
    this.frames.push(payload);
    this.queuedBytes += headerLength(payload.length, this.masked) + payload.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  /** Hands every queued frame to the socket now (in one write, or one writev with large payloads). */
  readonly flush = (): void => {
    this.scheduled = false;
    const frames = this.frames;
    const n = frames.length;
    if (n === 0) return;
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) {
      frames.length = 0;
      this.queuedBytes = 0;
      return;
    }
    const masked = this.masked;
    let copied = 0;
    let large = false;
    for (let i = 0; i < n; i++) {
      const len = frames[i]!.length;
      copied += headerLength(len, masked);
      if (len <= COPY_LIMIT) copied += len;
      else large = true;
    }
    const out = batchBuffer(copied);
    if (large) socket.cork();
    let pos = 0;
    let segment = 0;
    for (let i = 0; i < n; i++) {
      const payload = frames[i]!;
      pos = writeHeader(out, pos, payload.length, masked);
      if (payload.length <= COPY_LIMIT) {
        out.set(payload, pos);
        pos += payload.length;
      } else {
        socket.write(out.subarray(segment, pos));
        socket.write(payload);
        segment = pos;
      }
    }
    if (pos > segment) socket.write(out.subarray(segment, pos));
    if (large) socket.uncork();
    // Nothing queued: the kernel took every byte, the buffer can serve the next batch. Otherwise
    // the socket still holds it until its write completes; the next batch takes a new one.
    if (socket.writableLength === 0 && out.length <= SPARE_LIMIT) spare = out;
    frames.length = 0;
    this.queuedBytes = 0;
    this.onFlushed?.();
  };
}
