import type { Socket } from 'node:net';

/** "address:port" of a socket's peer: the same for a TCP socket and the TLS socket over it. */
export function peerKey(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
}

interface Pending {
  readonly socket: Socket;
  timer: NodeJS.Timeout | undefined;
  /** A plain HTTP request came on it (not an upgrade). */
  http: boolean;
}

/**
 * Every accepted TCP connection from the moment it is accepted until it becomes a session or
 * closes, so that half-open sockets (connected, upgrade never finished) count toward
 * maxConnections and are closed after the handshake timeout instead of holding a file
 * descriptor for as long as the peer likes. A plain HTTP request (the operators' endpoints) does
 * not stop the clock: it is answered on a connection that closes after the answer, all within the
 * same timeout — a body trickled in a byte at a time, or a chain of requests, cannot hold a slot.
 */
export class HandshakeGuard {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: (peer: string, http: boolean) => void,
  ) {}

  /** Connections accepted that are not (yet) sessions. */
  get size(): number {
    return this.pending.size;
  }

  track(socket: Socket): void {
    const key = peerKey(socket);
    const entry: Pending = { socket, timer: undefined, http: false };
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.pending.get(key) !== entry) return;
      this.onTimeout(key, entry.http);
      socket.destroy();
    }, this.timeoutMs);
    entry.timer.unref();
    this.pending.set(key, entry);
    socket.once('close', () => {
      if (this.pending.get(key) === entry) this.forget(key);
    });
  }

  has(key: string): boolean {
    return this.pending.has(key);
  }

  /** A plain HTTP request's head was read: it is answered, and the connection closed, within the timeout. */
  requestSeen(key: string): void {
    const entry = this.pending.get(key);
    if (entry !== undefined) entry.http = true;
  }

  /** The connection became a session (counted there from now on) or is gone. */
  forget(key: string): void {
    const entry = this.pending.get(key);
    if (entry === undefined) return;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    this.pending.delete(key);
  }

  destroyAll(): void {
    for (const [key, entry] of this.pending) {
      this.forget(key);
      entry.socket.destroy();
    }
  }
}
