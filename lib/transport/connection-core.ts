import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { monotonicMs } from '../base/clock';
import { decodeFrame, Frame, FrameError, peekHeader } from './codec';
import type { DecodeLimits } from './frame-scan';
import { FrameReader } from './frame-reader';
import { FrameWriter } from './frame-writer';
import type { TransportFault } from './transport-fault';

/** What one end (client connection or server session) does with what the core receives. */
export interface CoreOwner {
  /** A decoded frame of a valid shape (which types make sense is the owner's call). */
  onFrame(frame: Frame): void;
  /** A frame over maxFrameBytes, already reported; `header` when its type and id were readable. */
  onOversized(bytes: number, header: { type: number; id: number } | undefined): void;
  /** A frame that did not decode or had the wrong shape, already reported. */
  onBadFrame(err: FrameError): void;
  /** The outbound buffer went over highWaterMarkBytes. */
  onBackpressure(bufferedBytes: number): void;
  /** The socket drained and the outbound buffer is under highWaterMarkBytes again. */
  onWritable(): void;
  /** The peer was silent past heartbeatTimeoutMs; the socket is being terminated. */
  onDead(reason: string): void;
}

export interface CoreLimits {
  readonly maxFrameBytes: number;
  readonly highWaterMarkBytes: number;
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly decodeLimits: DecodeLimits;
  /** Unsent bytes over this cut the connection at once (the per-connection memory bound). */
  readonly maxBufferedBytes: number;
  /** Over highWaterMarkBytes without draining below it for this long cuts the connection. */
  readonly slowConsumerTimeoutMs: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * The machinery both ends of a connection share (like ws's one socket class): liveness on the
 * monotonic clock, per-tick corked writes, outbound backpressure, parking of inbound frames
 * while reading is paused, and the inbound gate (binary only, size limit, decode). What a frame
 * means is left to the owner.
 */
export class ConnectionCore {
  /** Set on any inbound traffic; the heartbeat turns it into `lastSeen`. */
  private sawTraffic = true;
  private lastSeen = monotonicMs();
  private corked = false;
  private sentThisTick = false;
  private overHighWater = false;
  /** When the outbound buffer last went over the high-water mark (monotonic ms). */
  private overSince = 0;
  private cut = false;
  private readingPaused = false;
  /** Frames read while paused, to run once reading resumes. */
  private backlog: Buffer[] = [];
  private backlogHead = 0;
  private detached = false;
  private pingFlood = false;
  /** Direct frame writes (see frame-writer.ts); undefined = through ws.send (client with random masks). */
  private readonly writer: FrameWriter | undefined;
  /** Direct reads of plain binary frames (see frame-reader.ts); undefined = all through ws's receiver. */
  readonly reader: FrameReader | undefined;

  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly owner: CoreOwner,
    private readonly limits: CoreLimits,
    readonly peerName: string,
    private readonly report: (f: TransportFault) => void,
    /** How frames leave: 'server' and 'client-zero-mask' write them directly, 'ws' through ws.send. */
    framing: 'server' | 'client-zero-mask' | 'ws' = 'ws',
  ) {
    this.writer = framing === 'ws' ? undefined : new FrameWriter(socket, framing === 'client-zero-mask', this.onFlushed);
    this.reader = FrameReader.install(ws, this.onBinary);
    // What the reader leaves to ws (fragmented or text messages) still arrives as 'message'.
    ws.on('message', this.onMessage);
    ws.on('ping', this.onPing);
    ws.on('pong', this.onTraffic);
    socket.on('drain', this.onDrain);
  }

  /** Bytes written but not yet flushed to the peer (including this tick's frames not yet handed to the socket). */
  get bufferedAmount(): number {
    return this.writer === undefined ? this.ws.bufferedAmount : this.ws.bufferedAmount + this.writer.pendingBytes;
  }

  /** Hands this tick's queued frames to the socket now: call before closing it, so they go before the close frame. */
  flush(): void {
    this.writer?.flush();
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get isReadingPaused(): boolean {
    return this.readingPaused;
  }

  /** Stops delivering anything to the owner (the owner moved on to another socket or closed). */
  detach(): void {
    this.detached = true;
    this.backlog = [];
    this.backlogHead = 0;
  }

  fault(f: Omit<TransportFault, 'peer'>): void {
    this.report({ ...f, peer: this.peerName });
  }

  /**
   * Frames written in the same tick leave together, after the current batch of work (frames
   * from the same read, promise continuations): with the FrameWriter in one socket write; through
   * ws.send, the first goes out at once and later ones are corked into one writev. Measured: far
   * fewer syscalls and more calls/s under concurrency.
   */
  send(frame: Buffer): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (this.writer !== undefined) {
      this.writer.write(frame);
    } else {
      if (!this.sentThisTick) {
        this.sentThisTick = true;
        process.nextTick(this.endTick);
      } else if (!this.corked) {
        this.corked = true;
        this.socket.cork();
      }
      ws.send(frame);
    }
    const buffered = this.bufferedAmount;
    // >= as the client's check before it writes, so that whoever held back gets onWritable.
    if (buffered >= this.limits.highWaterMarkBytes) {
      if (buffered > this.limits.maxBufferedBytes) {
        this.cutOff(`${buffered} bytes unsent exceed maxBufferedBytes ${this.limits.maxBufferedBytes}`, buffered);
      } else if (!this.overHighWater) {
        this.overHighWater = true;
        this.overSince = monotonicMs();
        this.owner.onBackpressure(buffered);
      }
    }
  }

  /**
   * The slow-consumer cut-off: a peer that does not read its answers is disconnected before
   * its unsent data can grow past the bound; what it had in flight is aborted.
   */
  private cutOff(why: string, buffered: number): void {
    if (this.cut) return;
    this.cut = true;
    this.fault({ code: 'SLOW_CONSUMER', message: `peer is not reading: ${why}; connection closed`, detail: { bufferedAmount: buffered } });
    this.owner.onDead(`slow consumer (${why})`);
    this.ws.terminate();
  }

  private readonly endTick = (): void => {
    this.sentThisTick = false;
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
  };

  /** After a direct batch write: if the socket took it all, no 'drain' follows, so say it here. */
  private readonly onFlushed = (): void => {
    if (this.overHighWater) this.onDrain();
  };

  private readonly onDrain = (): void => {
    if (this.detached || this.bufferedAmount >= this.limits.highWaterMarkBytes) return;
    this.overHighWater = false;
    this.owner.onWritable();
  };

  /**
   * Stops reading from the peer. Frames already read keep arriving (at most about one socket
   * read's worth): they are parked, not run, until `resumeReading`.
   */
  pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.ws.pause();
  }

  resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    while (!this.readingPaused && !this.detached && this.backlogHead < this.backlog.length) {
      const data = this.backlog[this.backlogHead]!;
      this.backlog[this.backlogHead++] = EMPTY;
      this.gate(data);
    }
    if (this.backlogHead >= this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
    }
    if (!this.readingPaused) this.ws.resume();
  }

  /** One liveness check; the owner's timer calls it every livenessTickMs. */
  heartbeat(now: number): void {
    if (this.overHighWater && now - this.overSince > this.limits.slowConsumerTimeoutMs) {
      this.cutOff(`over highWaterMarkBytes for ${Math.round(now - this.overSince)} ms (slowConsumerTimeoutMs ${this.limits.slowConsumerTimeoutMs})`, this.bufferedAmount);
      return;
    }
    if (this.sawTraffic) {
      this.sawTraffic = false;
      this.lastSeen = now;
      return;
    }
    const idle = Math.round(now - this.lastSeen);
    if (idle > this.limits.heartbeatTimeoutMs) {
      this.fault({ code: 'HEARTBEAT_TIMEOUT', message: `no traffic from ${this.peerName} for ${idle} ms; connection declared dead` });
      this.owner.onDead(`heartbeat timeout (${idle} ms without traffic)`);
      this.ws.terminate();
    } else if (idle >= this.limits.heartbeatMs && this.ws.readyState === WebSocket.OPEN) {
      this.ws.ping();
    }
  }

  /**
   * ws answers every ping itself and terminates a peer whose pongs pile up unread
   * (maxPendingAutoPongs) — silently: no 'error'. Its 'ping' event still follows, which is where the
   * cut is told apart (ws's own counters, read only here) and reported once.
   */
  private readonly onPing = (): void => {
    this.sawTraffic = true;
    const ws = this.ws as unknown as { _pendingAutoPongs?: unknown; _maxPendingAutoPongs?: unknown };
    if (!this.pingFlood && this.ws.readyState !== WebSocket.OPEN && typeof ws._maxPendingAutoPongs === 'number'
      && ws._maxPendingAutoPongs > 0 && typeof ws._pendingAutoPongs === 'number' && ws._pendingAutoPongs >= ws._maxPendingAutoPongs) {
      this.pingFlood = true;
      this.fault({ code: 'PING_FLOOD', message: `${ws._pendingAutoPongs} pongs unread by the peer: it sends pings faster than it reads; connection cut` });
    }
  };

  private readonly onTraffic = (): void => {
    this.sawTraffic = true;
  };

  private readonly onBinary = (data: Buffer): void => {
    this.onMessage(data, true);
  };

  private readonly onMessage = (data: Buffer, isBinary: boolean): void => {
    this.sawTraffic = true;
    if (this.detached) return;
    if (!isBinary) {
      this.fault({ code: 'TEXT_FRAME', message: 'text message ignored; frames are binary' });
      return;
    }
    if (this.readingPaused || this.backlogHead < this.backlog.length) {
      this.backlog.push(data);
      return;
    }
    this.gate(data);
  };

  /** The inbound gate: size, then decode; only a valid frame reaches the owner's onFrame. */
  private gate(data: Buffer): void {
    if (data.length > this.limits.maxFrameBytes) {
      const header = peekHeader(data);
      this.fault({
        code: 'PAYLOAD_TOO_LARGE',
        message: `frame of ${data.length} bytes exceeds maxFrameBytes ${this.limits.maxFrameBytes}`,
        detail: { bytes: data.length, id: header?.id, type: header?.type },
      });
      this.owner.onOversized(data.length, header);
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(data, this.limits.decodeLimits);
    } catch (err) {
      const e = err as FrameError;
      const code = e.reason === 'UNDECODABLE' ? 'UNDECODABLE_FRAME' : e.reason === 'TOO_COMPLEX' ? 'FRAME_TOO_COMPLEX' : 'BAD_FRAME';
      this.fault({ code, message: e.message, detail: { id: e.id, type: e.type, bytes: data.length } });
      this.owner.onBadFrame(e);
      return;
    }
    this.owner.onFrame(frame);
  }
}
