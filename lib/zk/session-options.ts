import { InvalidOptionError } from '../base/errors';
import { fraction, integerInRange, knownKeys, oneOf, optionKeys, positiveNumber } from '../base/options';
import { aclOption } from './acl';
import type { AclEntry } from './acl';

/** Credentials added to the session, e.g. `{ scheme: 'digest', credentials: 'user:password' }`. */
export interface ZkAuth {
  readonly scheme: string;
  readonly credentials: string;
}

export interface ZkSessionOptions {
  /** "host:port[,host:port...][/chroot]". The chroot node must exist. */
  readonly connect: string;
  /** Requested session timeout; ZooKeeper negotiates it into [minSessionTimeout, maxSessionTimeout]. Default 10000. */
  readonly sessionTimeoutMs?: number;
  /**
   * Every request settles within this time (TIMEOUT, outcome unknown) — checked on the session's tick,
   * so up to 1/20 of the smaller of this and the session timeout later (at least 10 ms, at most 100 ms).
   * Default: the session timeout.
   */
  readonly requestTimeoutMs?: number;
  /** start() rejects if no session is established within this time. Default 30000. */
  readonly startTimeoutMs?: number;
  /** The lease clock probes an idle session this often, as a share of the negotiated timeout. Default 1/3. */
  readonly probeFraction?: number;
  /** A connected server that answers nothing for this share of the timeout is abandoned. Default 1/2. */
  readonly readTimeoutFraction?: number;
  /**
   * 'write' (default) probes with a check-only multi, which the ensemble leader must order: a reply proves
   * the leader, not just one follower, has heard from the session. 'read' probes with exists(), cheaper,
   * for sessions that hold no lease (watchers, clients).
   */
  readonly leaseProbe?: 'write' | 'read';
  /** Pause after every server of the ensemble was tried, before trying again. Default 200. */
  readonly spinDelayMs?: number;
  readonly auth?: readonly ZkAuth[];
  /** ACL for nodes created without one. Default: open (world:anyone all). */
  readonly defaultAcl?: readonly AclEntry[];
  /**
   * Largest ZooKeeper reply accepted, in bytes; a longer one is dropped as malformed (connection
   * loss) before it is buffered. Default 16 MiB (ZooKeeper's jute.maxbuffer is ~1 MiB per node;
   * a getChildren of a very large node can exceed it).
   */
  readonly maxReplyBytes?: number;
}

export interface ResolvedSessionOptions {
  readonly connect: string;
  readonly servers: readonly string[];
  readonly chroot: string | undefined;
  readonly sessionTimeoutMs: number;
  readonly requestTimeoutMs: number | undefined;
  readonly startTimeoutMs: number;
  readonly probeFraction: number;
  readonly readTimeoutFraction: number;
  readonly leaseProbe: 'write' | 'read';
  readonly spinDelayMs: number;
  readonly auth: readonly ZkAuth[];
  readonly defaultAcl: readonly AclEntry[] | undefined;
  readonly maxReplyBytes: number;
}

const SESSION_OPTION_KEYS = optionKeys<ZkSessionOptions>({
  connect: true, sessionTimeoutMs: true, requestTimeoutMs: true, startTimeoutMs: true, probeFraction: true, readTimeoutFraction: true,
  leaseProbe: true, spinDelayMs: true, auth: true, defaultAcl: true, maxReplyBytes: true,
});

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

export function resolveSessionOptions(options: ZkSessionOptions): ResolvedSessionOptions {
  if (!options || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object');
  knownKeys('', options, SESSION_OPTION_KEYS);
  const { servers, chroot } = parseConnectString(options.connect);
  const sessionTimeoutMs = integerInRange('sessionTimeoutMs', options.sessionTimeoutMs, 100, 3_600_000, 10_000);
  const requestTimeoutMs =
    options.requestTimeoutMs === undefined ? undefined : positiveNumber('requestTimeoutMs', options.requestTimeoutMs);
  const auth = options.auth ?? [];
  if (!Array.isArray(auth)) throw new InvalidOptionError('auth', 'must be an array of {scheme, credentials}');
  auth.forEach((a, i) => {
    if (!a || typeof a.scheme !== 'string' || a.scheme === '' || typeof a.credentials !== 'string') {
      throw new InvalidOptionError(`auth[${i}]`, 'must be {scheme: non-empty string, credentials: string}');
    }
  });
  aclOption('defaultAcl', options.defaultAcl);
  return {
    connect: options.connect,
    servers,
    chroot,
    sessionTimeoutMs,
    requestTimeoutMs,
    startTimeoutMs: positiveNumber('startTimeoutMs', options.startTimeoutMs, 30_000),
    probeFraction: fraction('probeFraction', options.probeFraction, 1 / 3),
    readTimeoutFraction: fraction('readTimeoutFraction', options.readTimeoutFraction, 1 / 2),
    leaseProbe: oneOf('leaseProbe', options.leaseProbe, ['write', 'read'] as const, 'write'),
    spinDelayMs: positiveNumber('spinDelayMs', options.spinDelayMs, 200),
    auth,
    defaultAcl: options.defaultAcl,
    maxReplyBytes: integerInRange('maxReplyBytes', options.maxReplyBytes, 64 * 1024, 1024 * 1024 * 1024, 16 * 1024 * 1024),
  };
}

export function parseConnectString(connect: unknown): { servers: string[]; chroot: string | undefined } {
  if (typeof connect !== 'string' || connect.trim() === '') {
    throw new InvalidOptionError('connect', 'must be a non-empty "host:port[,host:port][/chroot]" string');
  }
  const slash = connect.indexOf('/');
  const hostPart = slash === -1 ? connect : connect.slice(0, slash);
  const chrootPart = slash === -1 ? undefined : connect.slice(slash);
  const servers = hostPart.split(',').map((s) => s.trim());
  for (const s of servers) {
    const m = HOST_PORT.exec(s);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) {
      throw new InvalidOptionError('connect', `"${s}" is not host:port (in "${connect}")`);
    }
  }
  let chroot: string | undefined;
  if (chrootPart !== undefined && chrootPart !== '/') {
    if (chrootPart.endsWith('/') || chrootPart.includes('//') || hasControlCharacter(chrootPart)) {
      throw new InvalidOptionError('connect', `chroot "${chrootPart}" is not a valid znode path`);
    }
    chroot = chrootPart;
  }
  return { servers, chroot };
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 0x20) return true;
  return false;
}
