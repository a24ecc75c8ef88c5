import * as net from 'net';
import type { ClientFix } from './client-fix';

/**
 * node-zookeeper-client reads its socket as a stream: every read allocates a Buffer and goes through
 * the stream machinery ('data' event, readable state) before the reply guard sees it. A watching
 * client reads once per notification and once per reply, so that is per-change work for every
 * client. Here the socket reads into one buffer reused for every read of every connection (Node's
 * `onread`), handed to the reply guard as a borrowed chunk: the guard decodes what it can at once
 * (everything it keeps is copied out: data, strings, longs) and copies an incomplete frame's bytes.
 * Otherwise this is the library's connect(): same server choice, timeout, Nagle off, handlers.
 */
const FIXED = Symbol.for('zk-ha.client-fix.socket-reads');
/** One read's worth; larger replies arrive in several reads, as with the stream. */
const READ_BUFFER_BYTES = 64 * 1024;

interface Manager {
  socket?: net.Socket;
  connectTimeout: number;
  connectTimeoutHandler?: NodeJS.Timeout;
  setState(state: number): void;
  findNextServer(callback: (server: { host: string; port: number }) => void): void;
  onSocketConnectTimeout(): void;
  onSocketConnected(): void;
  onSocketData(chunk: Buffer, borrowed?: boolean): void;
  onSocketDrain(): void;
  onSocketClosed(hadError: boolean): void;
  onSocketError(error: Error): void;
}

export const socketReads: ClientFix = {
  name: 'socket-reads',
  apply(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- internal module of node-zookeeper-client, untyped
    const ConnectionManager = require('node-zookeeper-client/lib/ConnectionManager.js') as {
      prototype: Manager & { connect(this: Manager): void; [FIXED]?: true };
      STATES: { CONNECTING: number };
    };
    const proto = ConnectionManager.prototype;
    // Another copy of zk-ha in the same process may share this node-zookeeper-client.
    if (proto[FIXED]) return;
    const CONNECTING = ConnectionManager.STATES.CONNECTING;
    const buffer = Buffer.alloc(READ_BUFFER_BYTES);
    proto.connect = function connect(this: Manager): void {
      this.setState(CONNECTING);
      this.findNextServer((server) => {
        const socket = net.connect({
          host: server.host,
          port: server.port,
          onread: {
            buffer,
            callback: (n: number): boolean => {
              // Only the manager's current socket: a replaced one's late bytes go nowhere (as with 'data').
              if (this.socket === socket) this.onSocketData(buffer.subarray(0, n), true);
              return true;
            },
          },
        });
        this.socket = socket;
        this.connectTimeoutHandler = setTimeout(this.onSocketConnectTimeout.bind(this), this.connectTimeout);
        socket.setNoDelay();
        socket.on('connect', this.onSocketConnected.bind(this));
        socket.on('drain', this.onSocketDrain.bind(this));
        socket.on('close', this.onSocketClosed.bind(this));
        socket.on('error', this.onSocketError.bind(this));
      });
    };
    proto[FIXED] = true;
  },
};
