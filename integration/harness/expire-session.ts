import * as net from 'node:net';
import { HarnessError } from './errors';

/**
 * Expires a ZooKeeper session from outside: connect with its id and password over the raw jute
 * protocol and send closeSession. ZooKeeper then ends the session everywhere, so its owner
 * sees SESSION_EXPIRED when it next talks to the ensemble. (A second node-zookeeper-client with
 * the same id does not work: it never sends closeSession for a session it did not create.)
 */

const CLOSE_SESSION = -11;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export async function expireSessionOn(
  servers: readonly HostPort[],
  sessionId: Buffer | bigint,
  password: Buffer,
  timeoutMs = 5000,
): Promise<void> {
  const id = typeof sessionId === 'bigint' ? sessionId : readSessionId(sessionId);
  const failures: string[] = [];
  // The session's owner reconnects as soon as we take its session over, and its reconnect
  // closes our connection: a lost race is retried, and a retry that finds the session already
  // gone counts as success.
  for (let attempt = 0; attempt < 10; attempt++) {
    for (const server of servers) {
      try {
        await closeSessionVia(server, id, password, timeoutMs);
        return;
      } catch (err) {
        failures.push(`${server.host}:${server.port}: ${(err as Error).message}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
  }
  throw new HarnessError('EXPIRE_FAILED', `no server accepted session 0x${id.toString(16)}: ${failures.join('; ')}`);
}

function readSessionId(buf: Buffer): bigint {
  if (buf.length !== 8) throw new HarnessError('EXPIRE_FAILED', `a session id is 8 bytes, got ${buf.length}`);
  return buf.readBigInt64BE(0);
}

export function encodeConnectRequest(sessionId: bigint, password: Buffer, timeOut: number): Buffer {
  const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + password.length + 1);
  let o = 0;
  o = body.writeInt32BE(0, o); // protocolVersion
  o = body.writeBigInt64BE(0n, o); // lastZxidSeen
  o = body.writeInt32BE(timeOut, o);
  o = body.writeBigInt64BE(sessionId, o);
  o = body.writeInt32BE(password.length, o);
  o += password.copy(body, o);
  body.writeUInt8(0, o); // readOnly = false
  return frame(body);
}

export function encodeCloseSession(xid: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeInt32BE(xid, 0);
  body.writeInt32BE(CLOSE_SESSION, 4);
  return frame(body);
}

function frame(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}

function closeSessionVia(server: HostPort, sessionId: bigint, password: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    let phase: 'connect' | 'close' = 'connect';
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    // closeSession goes in the same write as the connect request: the server reads it only once
    // the session is re-established, and the owner has less time to reconnect in between.
    socket.on('connect', () =>
      socket.write(Buffer.concat([encodeConnectRequest(sessionId, password, 30000), encodeCloseSession(1)])),
    );
    socket.on('error', (err) => finish(err));
    socket.on('close', () => {
      // Closed without a reply to closeSession: the owner's reconnect may have pushed us out
      // before the server read it. Not proof of expiry; the caller retries.
      finish(new Error(phase === 'close' ? 'closed before answering closeSession' : 'closed before answering the connect request'));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const len = buffered.readInt32BE(0);
        if (buffered.length < 4 + len) return;
        const body = buffered.subarray(4, 4 + len);
        buffered = buffered.subarray(4 + len);
        if (phase === 'connect') {
          // ConnectResponse: protocolVersion int32, timeOut int32, sessionId int64, passwd buffer.
          const negotiatedTimeout = body.readInt32BE(4);
          if (negotiatedTimeout <= 0) {
            finish(); // the server says this session is already expired: the goal is reached
            return;
          }
          phase = 'close';
        } else {
          // ReplyHeader: xid int32, zxid int64, err int32. Only OK (0) or SESSION_EXPIRED (-112) prove the
          // session gone; SESSION_MOVED (-118) means the owner took it back first: the caller retries.
          const err = body.length >= 16 ? body.readInt32BE(12) : 0;
          finish(err === 0 || err === -112 ? undefined : new Error(`closeSession answered with error ${err}`));
          return;
        }
      }
    });
  });
}
