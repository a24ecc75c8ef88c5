import { wallClockMs } from '../base/clock';
import { hostname } from 'os';
import { ZkError } from '../zk';
import { CoordinationError } from './coordination-error';
import { nestsDeeperThan } from '../base/untrusted';

/** What a member publishes about itself, as JSON, so that zkCli and other languages can read it. */
export interface MemberRecord {
  readonly id: string;
  readonly url: string;
  /** Base URL of the member's operator endpoints (/healthz, /readyz, /primary, /metrics), when served. */
  readonly http?: string;
  readonly weight: number;
  readonly zone?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly version: string;
}

/** A member as seen in ZooKeeper: its node, its place in line and its record. */
export interface Member {
  readonly name: string;
  readonly path: string;
  readonly sequence: number;
  /** Session id (hex) that owns the ephemeral node. */
  readonly owner: string;
  readonly record: MemberRecord;
}

export const LIBRARY_VERSION = '0.1.0';
/** Records above this size are not candidates anywhere (servers' election and clients' views alike). */
export const MAX_RECORD_BYTES = 64 * 1024;
/** How deep a record's `meta` may nest (objects and arrays). */
export const MAX_META_DEPTH = 32;

export function completeRecord(partial: Pick<MemberRecord, 'id' | 'url'> & Partial<MemberRecord>): MemberRecord {
  return {
    weight: 1,
    pid: process.pid,
    host: hostname(),
    startedAt: wallClockMs(),
    version: LIBRARY_VERSION,
    ...partial,
  };
}

/** Encodes and validates a record as every reader will: a record no view would accept fails here, at the writer. */
export function encodeRecord(record: MemberRecord): Buffer {
  validateRecord(record, 'record');
  const data = Buffer.from(JSON.stringify(record));
  if (data.length > MAX_RECORD_BYTES) {
    throw new CoordinationError('BAD_MEMBER_RECORD', `record: ${data.length} bytes exceeds ${MAX_RECORD_BYTES} (a smaller "meta"?)`, { path: 'record' });
  }
  return data;
}

/**
 * A member URL clients can dial: ws or wss, a host, an explicit port, nothing else surprising.
 * Returns why not, or undefined when it is fine.
 */
export function memberUrlProblem(url: unknown): string | undefined {
  const checked = checkUrl(url, /^wss?:\/\/([^/?#]+)(.*)$/, 'must be a ws:// or wss:// URL');
  if (typeof checked === 'string') return checked;
  // URL drops a default port (80/443): read it from the authority as written.
  const port = /:(\d{1,5})$/.exec(checked.authority)?.[1];
  if (port === undefined) return 'must name a port (ws://host:port)';
  const n = Number(port);
  if (n < 1 || n > 65535) return 'port must be 1..65535';
  return undefined;
}

/**
 * The base URL of a member's operator endpoints, which the dashboard and `zk-ha haproxy` request:
 * http or https, a plain host (as for `url`), an optional port, and nothing after it — no path,
 * query, fragment or credentials, so that a record cannot aim those requests anywhere but
 * `<base>/primary`, `/readyz` and `/metrics`. Returns why not, or undefined when it is fine.
 */
export function memberHttpProblem(http: unknown): string | undefined {
  const checked = checkUrl(http, /^https?:\/\/([^/?#]+)\/?$/, 'must be an http:// or https:// base URL: a host, an optional port, no path, query or fragment');
  if (typeof checked === 'string') return checked;
  const port = /:(\d{1,5})$/.exec(checked.authority)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return 'port must be 1..65535';
  return undefined;
}

/**
 * What both URLs of a record must be: a string of 1..2048 characters without whitespace or control
 * characters, of the given shape (group 1: the authority as written), that parses, carries no
 * credentials and names a plain host — a DNS name (punycode after parsing), an IPv4 address or a
 * bracketed IPv6 one: nothing a consumer of the record (HAProxy's runtime API, a shell, a config
 * file) could read as syntax. Returns why not, or the authority.
 */
function checkUrl(value: unknown, shape: RegExp, shapeProblem: string): string | { authority: string } {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return 'must be a string of 1..2048 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(value)) return 'must not contain whitespace or control characters';
  const m = shape.exec(value);
  if (!m) return shapeProblem;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return 'does not parse as a URL';
  }
  if (parsed.username || parsed.password) return 'must not carry credentials';
  if (!parsed.hostname) return 'must name a host';
  if (!isPlainHost(parsed.hostname)) return 'host must be a DNS name, an IPv4 address or a bracketed IPv6 address';
  return { authority: m[1]! };
}

/**
 * A member node whose data this session may not read (its ACL denies READ: ZooKeeper answers
 * NO_AUTH) has no record anyone here can check: it is no candidate, exactly like a record that does
 * not parse. `exists()` needs no permission, so its version and owner can still be read.
 */
export function unreadableRecord(error: unknown, path: string): CoordinationError | undefined {
  if (!(error instanceof ZkError && error.code === 'NO_AUTH')) return undefined;
  return new CoordinationError('BAD_MEMBER_RECORD', `${path}: member record cannot be read (NO_AUTH: its ACL denies this session READ)`, { path, cause: 'NO_AUTH' });
}

/**
 * A DNS name (labels of letters, digits, "_" and inner "-"; punycode after parsing), an IPv4
 * address, or a bracketed IPv6 one. Label by label, no nested quantifiers: a hostile record must
 * not cost a view backtracking time.
 */
function isPlainHost(hostname: string): boolean {
  if (/^\[[0-9A-Fa-f:.]+\]$/.test(hostname)) return true;
  const labels = (hostname.endsWith('.') ? hostname.slice(0, -1) : hostname).split('.');
  return labels.every((label) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label));
}

/** Parses a member node's data; throws BAD_MEMBER_RECORD naming what is wrong. */
export function decodeRecord(data: Buffer, path: string): MemberRecord {
  if (data.length > MAX_RECORD_BYTES) {
    throw new CoordinationError('BAD_MEMBER_RECORD', `${path}: record of ${data.length} bytes exceeds ${MAX_RECORD_BYTES}`, { path });
  }
  const text = data.toString('utf8');
  // The same text always decodes to the same record: parsed and checked once per process, not once
  // per view (every view of the process then shares one frozen record object).
  const known = decodedTexts.get(text);
  if (known) return known;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CoordinationError('BAD_MEMBER_RECORD', `${path}: not JSON (${(error as Error).message})`, { path });
  }
  validateRecord(parsed, path);
  if (text.length <= DECODED_TEXT_MAX_CHARS) {
    deepFreeze(parsed);
    if (decodedTexts.size >= DECODED_TEXTS_MAX) decodedTexts.delete(decodedTexts.keys().next().value!);
    decodedTexts.set(text, parsed);
  }
  return parsed;
}

/**
 * Record texts that decoded and passed validateRecord, with their frozen records, oldest first
 * (bounded: at most DECODED_TEXTS_MAX texts of at most DECODED_TEXT_MAX_CHARS). A process with many
 * views of one service — or one view relisting after a reconnect — reads the same record text many
 * times; a text not seen recently is parsed and validated.
 */
const decodedTexts = new Map<string, MemberRecord>();
const DECODED_TEXTS_MAX = 512;
const DECODED_TEXT_MAX_CHARS = 4096;

/** Freezes a parsed JSON value all the way down (a shared record must not be changed by one holder). */
function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

function validateRecord(value: unknown, where: string): asserts value is MemberRecord {
  const fail = (why: string): never => {
    throw new CoordinationError('BAD_MEMBER_RECORD', `${where}: ${why}`, { path: where });
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('not a JSON object');
  const r = value as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id.length === 0 || r.id.length > 256) fail('"id" must be a string of 1..256 characters');
  const urlProblem = memberUrlProblem(r.url);
  if (urlProblem) fail(`"url" ${urlProblem}`);
  if (r.http !== undefined) {
    const httpProblem = memberHttpProblem(r.http);
    if (httpProblem) fail(`"http" ${httpProblem}`);
  }
  if (typeof r.weight !== 'number' || !Number.isFinite(r.weight) || r.weight < 0) fail('"weight" must be a number >= 0');
  if (r.zone !== undefined && typeof r.zone !== 'string') fail('"zone" must be a string');
  if (r.meta !== undefined && (r.meta === null || typeof r.meta !== 'object' || Array.isArray(r.meta))) fail('"meta" must be an object');
  // Every reader serialises records (CLI --json, the dashboard, logs): a meta nested thousands of
  // levels deep parses, but stringifying it overflows the stack.
  if (r.meta !== undefined && nestsDeeperThan(r.meta, MAX_META_DEPTH)) fail(`"meta" must not nest deeper than ${MAX_META_DEPTH} levels`);
  if (typeof r.pid !== 'number' || !Number.isInteger(r.pid)) fail('"pid" must be an integer');
  if (typeof r.host !== 'string') fail('"host" must be a string');
  if (typeof r.startedAt !== 'number') fail('"startedAt" must be a number');
  if (typeof r.version !== 'string') fail('"version" must be a string');
}
