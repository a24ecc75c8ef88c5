import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionError } from '../base/errors';
import { integerInRange, knownKeys, nonEmptyString, optionKeys, positiveNumber } from '../base/options';
import type { DecodeLimits } from './frame-scan';
import {
  DecodeLimitOptions, decodeLimits, defaultHardMaxFrameBytes, highWaterMarkOption, livenessLimits, LivenessOptions, maxFrameBytesOption, MiB,
} from './limits';
import type { AdmitHook, Handler } from './handler';
import type { TransportFault } from './transport-fault';

export interface AuthenticateRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The bearer token from `Authorization: Bearer <token>`, if any. */
  token?: string;
  address: string;
}

export interface RpcServerOptions extends LivenessOptions, DecodeLimitOptions {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  handlers?: Record<string, Handler>;
  /** A request or response over this size fails that call only, with PAYLOAD_TOO_LARGE. Default 4 MiB. */
  maxFrameBytes?: number;
  /** ws closes the socket on a frame over this size (memory guard). Default max(4 x maxFrameBytes, maxFrameBytes + 1 MiB). */
  hardMaxFrameBytes?: number;
  /** Default 1000. */
  maxInFlightPerConnection?: number;
  /** Default 10 000. */
  maxInFlight?: number;
  /** Open connections, counting those still in their upgrade handshake. Default 10 000. */
  maxConnections?: number;
  /** A connection that has not completed its WebSocket upgrade (authentication included) by then is closed. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** For requests that carry no timeout. Default 30 000. */
  defaultDeadlineMs?: number;
  /**
   * Cap of every call's time on this server, whatever the caller asks: a call that never
   * settles gives its slot back after this. Default 300 000 (5 minutes).
   */
  maxDeadlineMs?: number;
  /** Default grace period of close(). Default 5000. */
  graceMs?: number;
  /** Stop reading from (so admit no new calls of) a peer whose unsent responses exceed this. Default 4 MiB. */
  highWaterMarkBytes?: number;
  /**
   * The per-connection memory bound of unsent responses: over it the connection is cut at once
   * (SLOW_CONSUMER fault; its calls in flight are aborted). Default max(32 MiB, 2 x (highWaterMarkBytes + maxFrameBytes)).
   */
  maxBufferedBytes?: number;
  /** A peer whose unsent responses stay over highWaterMarkBytes this long is cut (SLOW_CONSUMER). Default 30 000. */
  slowConsumerTimeoutMs?: number;
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
  /** Falsy -> UNAUTHENTICATED; a non-boolean truthy value becomes peer.identity. */
  authenticate?: (req: AuthenticateRequest) => boolean | unknown | Promise<boolean | unknown>;
  /**
   * Called per call right before the handler would run (after limits), synchronously at the
   * moment of dispatch. Return an RpcError to refuse (the handler never runs), an AdmitDecision,
   * or an AdmitHold to be asked again (once) when its promise settles.
   */
  admit?: AdmitHook;
  onFault?: (fault: TransportFault) => void;
  /**
   * Plain HTTP requests (not a WebSocket upgrade) on the same listener go here, e.g. health checks.
   * Default: 426 Upgrade Required. A throwing handler answers 500.
   */
  httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** For tests of version negotiation; normally left alone. */
  protocolVersion?: string;
}

const SERVER_OPTION_KEYS = optionKeys<RpcServerOptions>({
  host: true, port: true, handlers: true, maxFrameBytes: true, hardMaxFrameBytes: true, maxInFlightPerConnection: true, maxInFlight: true,
  maxConnections: true, handshakeTimeoutMs: true, defaultDeadlineMs: true, maxDeadlineMs: true, graceMs: true, highWaterMarkBytes: true,
  maxBufferedBytes: true, slowConsumerTimeoutMs: true, tls: true, authenticate: true, admit: true, onFault: true, httpHandler: true,
  protocolVersion: true, heartbeatMs: true, heartbeatTimeoutMs: true, maxFrameElements: true, maxFrameDepth: true,
});

/** The server's limits, validated, with defaults applied; shared by all its sessions. */
export interface ServerLimits {
  readonly host: string;
  readonly port: number;
  readonly maxFrameBytes: number;
  readonly hardMaxFrameBytes: number;
  readonly maxInFlightPerConnection: number;
  readonly maxInFlight: number;
  readonly maxConnections: number;
  readonly handshakeTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly defaultDeadlineMs: number;
  readonly maxDeadlineMs: number;
  readonly graceMs: number;
  readonly highWaterMarkBytes: number;
  readonly maxBufferedBytes: number;
  readonly slowConsumerTimeoutMs: number;
  readonly decodeLimits: DecodeLimits;
}

export function serverLimits(opts: RpcServerOptions): ServerLimits {
  if (typeof opts !== 'object' || opts === null) throw new InvalidOptionError('options', 'must be an object');
  knownKeys('', opts, SERVER_OPTION_KEYS);
  const maxFrameBytes = maxFrameBytesOption(opts.maxFrameBytes);
  const maxDeadlineMs = positiveNumber('maxDeadlineMs', opts.maxDeadlineMs, 300_000);
  const defaultDeadlineMs = positiveNumber('defaultDeadlineMs', opts.defaultDeadlineMs, Math.min(30_000, maxDeadlineMs));
  if (defaultDeadlineMs > maxDeadlineMs) throw new InvalidOptionError('defaultDeadlineMs', `must be <= maxDeadlineMs (${maxDeadlineMs})`);
  const highWaterMarkBytes = highWaterMarkOption(opts.highWaterMarkBytes, 4 * MiB);
  return Object.freeze({
    host: nonEmptyString('host', opts.host, '127.0.0.1'),
    port: integerInRange('port', opts.port, 0, 65535, 0),
    maxFrameBytes,
    hardMaxFrameBytes: integerInRange('hardMaxFrameBytes', opts.hardMaxFrameBytes, maxFrameBytes, 2048 * MiB, defaultHardMaxFrameBytes(maxFrameBytes)),
    maxInFlightPerConnection: integerInRange('maxInFlightPerConnection', opts.maxInFlightPerConnection, 1, 1e9, 1000),
    maxInFlight: integerInRange('maxInFlight', opts.maxInFlight, 1, 1e9, 10_000),
    maxConnections: integerInRange('maxConnections', opts.maxConnections, 1, 1e9, 10_000),
    handshakeTimeoutMs: positiveNumber('handshakeTimeoutMs', opts.handshakeTimeoutMs, 10_000),
    ...livenessLimits(opts),
    defaultDeadlineMs,
    maxDeadlineMs,
    graceMs: integerInRange('graceMs', opts.graceMs, 0, 1e9, 5000),
    highWaterMarkBytes,
    maxBufferedBytes: integerInRange(
      'maxBufferedBytes', opts.maxBufferedBytes, highWaterMarkBytes + maxFrameBytes, 1e12,
      Math.max(32 * MiB, 2 * (highWaterMarkBytes + maxFrameBytes)),
    ),
    slowConsumerTimeoutMs: positiveNumber('slowConsumerTimeoutMs', opts.slowConsumerTimeoutMs, 30_000),
    decodeLimits: decodeLimits(opts),
  });
}
