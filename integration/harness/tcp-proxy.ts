import * as net from 'node:net';
import { HarnessError } from './errors';
import { sleep } from './cluster-base';

interface Target {
  readonly host: string;
  readonly port: number;
}

/** One proxied connection: the accepted client socket and its socket to the target. */
interface Link {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  /** A side closed while the link was blackholed; the other side learns of it on heal(). */
  closedWhileHeld: boolean;
  /** Forwarders of delay mode, to detach when the mode changes. */
  delayed?: { readonly up: (b: Buffer) => void; readonly down: (b: Buffer) => void };
}

/**
 * A loopback TCP proxy a test controls, to cut links between a client and a server.
 *
 * blackhole() models a partition: no byte crosses, no FIN, no RST, sockets stay open. As with
 * TCP retransmission in a real partition, bytes sent meanwhile are held (not read) and arrive
 * after heal() unless an end gave up and closed first. reset() destroys every connection with
 * RST; refuse(true) closes the listening socket so that connects get ECONNREFUSED. delay(ms)
 * models a slow link: every byte is held `ms` before it is passed on, in order, both ways; the
 * connection stays up (delay(0) restores direct forwarding).
 */
export class TcpProxy {
  readonly port: number;
  readonly address: string;
  private target: Target;
  private server: net.Server | undefined;
  private readonly links = new Set<Link>();
  private held = false;
  private delayMs = 0;
  private refusing = false;
  private relisten: Promise<void> = Promise.resolve();
  private closed = false;

  /** Sends new connections to another port of the same host (e.g. a restarted server on a new port). */
  retarget(port: number): void {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new HarnessError('START_FAILED', `TcpProxy: bad target port ${port}`);
    this.target = { ...this.target, port };
  }

  private constructor(target: Target, server: net.Server, port: number) {
    this.target = target;
    this.server = server;
    this.port = port;
    this.address = `127.0.0.1:${port}`;
  }

  static async start(target: { host: string; port: number }, listenPort = 0): Promise<TcpProxy> {
    if (!Number.isInteger(target.port) || target.port <= 0 || target.port > 65535) {
      throw new HarnessError('START_FAILED', `TcpProxy: bad target port ${target.port}`);
    }
    const pending: net.Socket[] = [];
    const holder: { proxy?: TcpProxy } = {};
    const server = await listen(listenPort, (socket) => (holder.proxy ? holder.proxy.accept(socket) : pending.push(socket)));
    const proxy = new TcpProxy({ host: target.host, port: target.port }, server, (server.address() as net.AddressInfo).port);
    holder.proxy = proxy;
    for (const socket of pending) proxy.accept(socket);
    return proxy;
  }

  /** Connections currently open through the proxy. */
  get connections(): number {
    return this.links.size;
  }

  /** Holds every byte `ms` milliseconds before passing it on (0: no delay). */
  delay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new HarnessError('START_FAILED', `TcpProxy: bad delay ${ms}`);
    this.delayMs = ms;
    if (this.held) return;
    for (const link of [...this.links]) {
      hold(link);
      this.flow(link);
    }
  }

  blackhole(): void {
    this.held = true;
    for (const link of this.links) hold(link);
  }

  heal(): void {
    this.held = false;
    for (const link of [...this.links]) this.flow(link);
  }

  reset(): void {
    for (const link of this.links) {
      link.client.resetAndDestroy();
      link.upstream?.resetAndDestroy();
    }
    this.links.clear();
  }

  refuse(on: boolean): void {
    if (on === this.refusing || this.closed) return;
    this.refusing = on;
    if (on) {
      this.server?.close();
      this.server = undefined;
      return;
    }
    this.relisten = this.relisten.then(() => this.listenAgain());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.relisten;
    this.reset();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listenAgain(): Promise<void> {
    // The port was ours a moment ago; retry briefly in case the OS has not released it yet.
    for (let attempt = 0; ; attempt++) {
      if (this.refusing || this.closed) return;
      try {
        this.server = await listen(this.port, (socket) => this.accept(socket));
        return;
      } catch (err) {
        if (attempt >= 20) throw err;
        await sleep(50);
      }
    }
  }

  private accept(client: net.Socket): void {
    if (this.refusing || this.closed) {
      client.resetAndDestroy();
      return;
    }
    // A proxy that batches small writes (Nagle) against the peer's delayed ACK adds ~40 ms stalls
    // to pipelined ZooKeeper requests and replies: a transparent link forwards at once.
    client.setNoDelay(true);
    const link: Link = { client, upstream: undefined, closedWhileHeld: false };
    this.links.add(link);
    client.on('error', () => undefined);
    client.on('close', () => this.onSideClosed(link));
    if (this.held) hold(link);
    else this.flow(link);
  }

  /** Connects upstream if not yet done, then forwards both ways. */
  private flow(link: Link): void {
    if (link.closedWhileHeld) {
      this.drop(link);
      return;
    }
    if (!link.upstream) {
      const upstream = net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true, noDelay: true });
      link.upstream = upstream;
      upstream.on('error', () => undefined);
      upstream.on('close', () => this.onSideClosed(link));
    }
    if (this.delayMs > 0) {
      this.flowDelayed(link, link.upstream);
      return;
    }
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
    link.client.resume();
    link.upstream.resume();
  }

  /** Delay mode: each chunk leaves `delayMs` after it arrived, never before an earlier one. */
  private flowDelayed(link: Link, upstream: net.Socket): void {
    const ms = this.delayMs;
    const forwarder = (to: net.Socket): ((b: Buffer) => void) => {
      let lastAt = 0;
      return (chunk: Buffer) => {
        const at = Math.max(lastAt, Date.now() + ms);
        lastAt = at;
        setTimeout(() => {
          if (!to.destroyed && to.writable) to.write(chunk);
        }, at - Date.now());
      };
    };
    link.delayed = { up: forwarder(upstream), down: forwarder(link.client) };
    link.client.on('data', link.delayed.up);
    upstream.on('data', link.delayed.down);
    link.client.resume();
    upstream.resume();
  }

  private onSideClosed(link: Link): void {
    if (!this.links.has(link)) return;
    if (this.held) {
      link.closedWhileHeld = true;
      return;
    }
    this.drop(link);
  }

  private drop(link: Link): void {
    this.links.delete(link);
    // An error close (RST) travels on as RST; an orderly one ends the other side after its
    // pending bytes are written (pipe() has usually sent that FIN already).
    if (link.client.errored || link.upstream?.errored) {
      link.client.resetAndDestroy();
      link.upstream?.resetAndDestroy();
    } else {
      link.client.end();
      link.upstream?.end();
    }
  }
}

function hold(link: Link): void {
  if (link.delayed) {
    link.client.off('data', link.delayed.up);
    link.upstream?.off('data', link.delayed.down);
    link.delayed = undefined;
  }
  link.client.unpipe();
  link.client.pause();
  link.upstream?.unpipe();
  link.upstream?.pause();
}

function listen(port: number, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true }, onConnection);
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      resolve(server);
    });
  });
}
