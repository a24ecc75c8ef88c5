import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TransportFault } from './transport-fault';

/**
 * A request that is not HTTP (garbage, headers over the limit, a bad version or framing — an
 * http.Server 'clientError'): the answer Node would give (400, 431 for oversized headers, 408 for a
 * request timeout) and the socket closed. Returns the fault to report, or undefined when there is
 * nothing to say (the peer went away, or the socket was already done with). `where` prefixes the
 * message when one process has several such ports.
 */
export function answerBadHttpRequest(err: Error & { code?: string }, socket: Duplex, where = ''): TransportFault | undefined {
  const code = err.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE' || socket.destroyed) {
    socket.destroy();
    return undefined;
  }
  const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const s = socket as Socket;
  if (socket.writable && (s.bytesWritten ?? 0) === 0) {
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    setTimeout(() => socket.destroy(), 1000).unref();
  } else {
    socket.destroy();
  }
  return {
    code: 'BAD_HTTP_REQUEST',
    message: `${where}not a valid HTTP request (${code || err.message}): answered ${status}, connection closed`,
    peer: `${s.remoteAddress}:${s.remotePort}`,
    detail: { errorCode: code },
  };
}
