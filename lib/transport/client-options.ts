import { InvalidOptionError } from '../base/errors';
import { booleanOption, knownKeys, nonEmptyString, optionKeys, positiveNumber, prefixOptionErrors } from '../base/options';
import { Backoff, BackoffOptions } from '../base/backoff';
import { DecodeLimitOptions, decodeLimits, defaultHardMaxFrameBytes, highWaterMarkOption, livenessLimits, LivenessOptions, maxFrameBytesOption, MiB } from './limits';
import { PROTOCOL_HEADER, PROTOCOL_VERSION } from './protocol';
import type { DecodeLimits } from './frame-scan';

export interface RpcConnectionOptions extends LivenessOptions, DecodeLimitOptions {
  /** ws://host:port or wss://host:port */
  url: string;
  /** Reconnect with exponential backoff and jitter (default on); false = stay down. */
  reconnect?: BackoffOptions | false;
  /** Requests over this fail locally, responses over this fail their call (PAYLOAD_TOO_LARGE). Default 4 MiB. */
  maxFrameBytes?: number;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Queue requests locally (not yet sent) while the socket has more than this buffered. Default 1 MiB. */
  highWaterMarkBytes?: number;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /** Deadline of calls that give neither `deadline` nor `timeoutMs`. Default 30 000. */
  defaultTimeoutMs?: number;
  /**
   * Mask client frames with an all-zero key (default true). Masking only protects browsers'
   * intermediaries; with a zero key ws skips the XOR on both sides, which is a large share of
   * the cost for big payloads. Set false for random masks.
   */
  zeroMask?: boolean;
  /** For tests of version negotiation; normally left alone. */
  protocolVersion?: string;
}

const CONNECTION_KEYS = optionKeys<RpcConnectionOptions>({
  url: true, reconnect: true, maxFrameBytes: true, token: true, headers: true, tls: true, highWaterMarkBytes: true, connectTimeoutMs: true,
  defaultTimeoutMs: true, zeroMask: true, protocolVersion: true, heartbeatMs: true, heartbeatTimeoutMs: true, maxFrameElements: true, maxFrameDepth: true,
});
const BACKOFF_KEYS = optionKeys<BackoffOptions>({ initialMs: true, maxMs: true, factor: true, jitter: true });

/** RpcConnectionOptions validated, with defaults applied. */
export interface ClientSettings {
  readonly url: string;
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly backoff: Backoff | undefined;
  readonly maxFrameBytes: number;
  readonly hardMaxFrameBytes: number;
  readonly highWaterMarkBytes: number;
  readonly connectTimeoutMs: number;
  readonly defaultTimeoutMs: number;
  readonly protocolVersion: string;
  readonly upgradeHeaders: Record<string, string>;
  readonly tls: RpcConnectionOptions['tls'];
  readonly zeroMask: boolean;
  readonly decodeLimits: DecodeLimits;
  /** Clients write only below highWaterMarkBytes (the rest waits in the caller's queue): no cut-off. */
  readonly maxBufferedBytes: number;
  readonly slowConsumerTimeoutMs: number;
}

export function clientSettings(opts: RpcConnectionOptions): ClientSettings {
  if (typeof opts !== 'object' || opts === null) throw new InvalidOptionError('options', 'must be an object');
  knownKeys('', opts, CONNECTION_KEYS);
  const url = nonEmptyString('url', opts.url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionError('url', `not a valid URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new InvalidOptionError('url', 'must start with ws:// or wss://');
  const liveness = livenessLimits(opts);
  if (opts.reconnect !== false && opts.reconnect !== undefined && (typeof opts.reconnect !== 'object' || opts.reconnect === null)) {
    throw new InvalidOptionError('reconnect', 'must be an object or false');
  }
  const reconnect = opts.reconnect;
  // Built here, not per reconnect loop, so that a bad value fails now, named inside `reconnect`.
  const backoff = reconnect === false ? undefined : prefixOptionErrors('reconnect', () => {
    if (reconnect !== undefined) knownKeys('', reconnect, BACKOFF_KEYS);
    // 'equal' jitter: never less than half the ceiling, so a flapping server is not hammered.
    return new Backoff({ jitter: 'equal', ...reconnect });
  });
  const maxFrameBytes = maxFrameBytesOption(opts.maxFrameBytes);
  const protocolVersion = nonEmptyString('protocolVersion', opts.protocolVersion, PROTOCOL_VERSION);
  const headers: Record<string, string> = {};
  if (opts.headers !== undefined) {
    if (typeof opts.headers !== 'object' || opts.headers === null) throw new InvalidOptionError('headers', 'must be an object');
    for (const [k, v] of Object.entries(opts.headers)) {
      if (typeof v !== 'string') throw new InvalidOptionError(`headers.${k}`, 'must be a string');
      headers[k] = v;
    }
  }
  if (opts.token !== undefined) headers.authorization = `Bearer ${nonEmptyString('token', opts.token)}`;
  headers[PROTOCOL_HEADER] = protocolVersion;
  if (opts.tls !== undefined && (typeof opts.tls !== 'object' || opts.tls === null)) throw new InvalidOptionError('tls', 'must be an object');
  return {
    url,
    ...liveness,
    backoff,
    maxFrameBytes,
    hardMaxFrameBytes: defaultHardMaxFrameBytes(maxFrameBytes),
    highWaterMarkBytes: highWaterMarkOption(opts.highWaterMarkBytes, MiB),
    connectTimeoutMs: positiveNumber('connectTimeoutMs', opts.connectTimeoutMs, 10_000),
    defaultTimeoutMs: positiveNumber('defaultTimeoutMs', opts.defaultTimeoutMs, 30_000),
    protocolVersion,
    upgradeHeaders: headers,
    tls: opts.tls,
    zeroMask: booleanOption('zeroMask', opts.zeroMask, true),
    decodeLimits: decodeLimits(opts),
    maxBufferedBytes: Infinity,
    slowConsumerTimeoutMs: Infinity,
  };
}
