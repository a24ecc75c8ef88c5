import type { Socket } from 'net';
import type { ClientFix } from './client-fix';

/**
 * node-zookeeper-client writes every request with its own socket.write (and disables Nagle), so
 * the requests one tick issues — a view's getData of several new members, a probe next to a
 * renewal — cost one syscall and one TCP segment each. Here the socket is corked at the first
 * write of a tick and uncorked on the next tick: they leave in one writev. Order is unchanged and
 * nothing waits longer than the current tick.
 */
const CORKED = Symbol.for('zk-ha.client-fix.corked-writes');

interface Manager { socket?: Socket; onPacketQueueReadable(): void }

export const corkedWrites: ClientFix = {
  name: 'corked-writes',
  apply(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- internal module of node-zookeeper-client, untyped
    const ConnectionManager = require('node-zookeeper-client/lib/ConnectionManager.js') as { prototype: Manager & { [CORKED]?: true } };
    const proto = ConnectionManager.prototype;
    // Another copy of zk-ha in the same process may share this node-zookeeper-client.
    if (proto[CORKED]) return;
    const original = proto.onPacketQueueReadable;
    const corked = new WeakSet<Socket>();
    const uncork = (socket: Socket): void => {
      corked.delete(socket);
      socket.uncork();
    };
    proto.onPacketQueueReadable = function onPacketQueueReadable(this: Manager): void {
      const socket = this.socket;
      if (socket && !socket.destroyed && !corked.has(socket)) {
        socket.cork();
        corked.add(socket);
        process.nextTick(uncork, socket);
      }
      original.call(this);
    };
    proto[CORKED] = true;
  },
};
