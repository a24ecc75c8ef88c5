import { hostname } from 'os';
import { CoordinationError } from './coordination-error';

/** What a member publishes about itself, as JSON, so that zkCli and other languages can read it. */
export interface MemberRecord {
  readonly id: string;
  readonly url: string;
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
const MAX_RECORD_BYTES = 64 * 1024;

export function completeRecord(partial: Pick<MemberRecord, 'id' | 'url'> & Partial<MemberRecord>): MemberRecord {
  return {
    weight: 1,
    pid: process.pid,
    host: hostname(),
    startedAt: Date.now(),
    version: LIBRARY_VERSION,
    ...partial,
  };
}

export function encodeRecord(record: MemberRecord): Buffer {
  validateRecord(record, 'record');
  return Buffer.from(JSON.stringify(record));
}

/** Parses a member node's data; throws BAD_MEMBER_RECORD naming what is wrong. */
export function decodeRecord(data: Buffer, path: string): MemberRecord {
  if (data.length > MAX_RECORD_BYTES) {
    throw new CoordinationError('BAD_MEMBER_RECORD', `${path}: record of ${data.length} bytes exceeds ${MAX_RECORD_BYTES}`, { path });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new CoordinationError('BAD_MEMBER_RECORD', `${path}: not JSON (${(error as Error).message})`, { path });
  }
  validateRecord(parsed, path);
  return parsed;
}

function validateRecord(value: unknown, where: string): asserts value is MemberRecord {
  const fail = (why: string): never => {
    throw new CoordinationError('BAD_MEMBER_RECORD', `${where}: ${why}`, { path: where });
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('not a JSON object');
  const r = value as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id.length === 0 || r.id.length > 256) fail('"id" must be a string of 1..256 characters');
  if (typeof r.url !== 'string' || !/^wss?:\/\/.+/.test(r.url)) fail('"url" must be a ws:// or wss:// URL');
  if (typeof r.weight !== 'number' || !Number.isFinite(r.weight) || r.weight < 0) fail('"weight" must be a number >= 0');
  if (r.zone !== undefined && typeof r.zone !== 'string') fail('"zone" must be a string');
  if (r.meta !== undefined && (r.meta === null || typeof r.meta !== 'object' || Array.isArray(r.meta))) fail('"meta" must be an object');
  if (typeof r.pid !== 'number' || !Number.isInteger(r.pid)) fail('"pid" must be an integer');
  if (typeof r.host !== 'string') fail('"host" must be a string');
  if (typeof r.startedAt !== 'number') fail('"startedAt" must be a number');
  if (typeof r.version !== 'string') fail('"version" must be a string');
}
