import type { Client } from 'node-zookeeper-client';

/**
 * The only place that reaches inside node-zookeeper-client's ConnectionManager. Each function
 * works around a measured defect that its public API gives no handle on (see README, "ZooKeeper
 * client defects"); integration/zk-defects.test.ts reproduces every one against real ZooKeeper.
 */

/** ConnectionManager.STATES of node-zookeeper-client 1.1.x. */
export const CM_STATES = {
  DISCONNECTED: 0,
  CONNECTING: 1,
  CONNECTED: 2,
  CONNECTED_READ_ONLY: 3,
  CLOSING: -1,
  CLOSED: -2,
  SESSION_EXPIRED: -3,
  AUTHENTICATION_FAILED: -4,
} as const;

export function internalState(client: Client): number {
  return client.connectionManager.state;
}

/**
 * Drops the current TCP connection; the client then reconnects to the next server of the
 * ensemble, keeping its session. Used when a server stops answering (the client has no read timeout).
 */
export function abandonConnection(client: Client): void {
  client.connectionManager.socket?.destroy();
}

/**
 * Closes a client in any state without throwing. `client.close()` throws a TypeError when no socket
 * exists yet (before the first connect), and after expiry or while disconnected it can never
 * deliver its closeSession. Only a connected client sends closeSession (which deletes its
 * ephemeral nodes at once); the others are marked CLOSING and their socket is dropped, which the
 * ConnectionManager treats as final.
 */
export function disposeClient(client: Client, graceMs: number): Promise<void> {
  const cm = client.connectionManager;
  return new Promise<void>((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      cm.removeListener('state', onState);
      cm.socket?.destroy();
      resolve();
    };
    const onState = (state: number): void => {
      if (state === CM_STATES.CLOSED) finish();
    };
    const timer = setTimeout(finish, graceMs);
    cm.on('state', onState);
    try {
      if (cm.state === CM_STATES.CONNECTED || cm.state === CM_STATES.CONNECTED_READ_ONLY) {
        client.close();
        return;
      }
      if (cm.state === CM_STATES.CLOSED) return finish();
      cm.setState(CM_STATES.CLOSING);
      if (cm.socket) cm.socket.destroy();
      else finish();
    } catch {
      finish();
    }
  });
}
