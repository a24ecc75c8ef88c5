import type { FaultKind, FaultReport } from '../base/fault-report';
import { integerInRange } from '../base/options';
import { nestsDeeperThan } from '../base/untrusted';
import type { AclEntry, ZkSession } from '../zk';
import { ZkError } from '../zk';
import type { ServicePaths } from './paths';
import { serviceAcl } from './service-acl';

export interface FaultJournalOptions {
  readonly session: ZkSession;
  readonly paths: ServicePaths;
  /** Oldest entries of this journal beyond this are trimmed. Default 200. */
  readonly maxEntries?: number;
  /** ACL of the entries: the service's `acl` option. Default: the session's defaultAcl, else open. */
  readonly acl?: readonly AclEntry[];
}

const ENTRY_PREFIX = 'f-';
/** Entries read at once while sorting ours from foreign ones. */
const READ_BATCH = 64;

/** The sequence of a journal entry name "f-0000000042" (42); undefined for any other name. */
export function journalSequence(name: string): number | undefined {
  if (name.length !== ENTRY_PREFIX.length + 10 || !name.startsWith(ENTRY_PREFIX)) return undefined;
  let value = 0;
  for (let i = ENTRY_PREFIX.length; i < name.length; i++) {
    const digit = name.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return value;
}

/** Entry name → whether it is one of ours. Entries are written once, so the answer never changes. */
export type JournalIndex = Map<string, boolean>;

/** A journal sink for FaultReporter: appends each report to the bounded journal under faults/. */
export function faultJournalSink(journal: FaultJournalOptions): (report: FaultReport) => Promise<void> {
  integerInRange('journal.maxEntries', journal.maxEntries, 1, 100_000, 200);
  const index: JournalIndex = new Map();
  return (report) => appendJournal(journal, report, index);
}

/**
 * Appends `report`, then trims the oldest of OUR entries beyond maxEntries. Ours = named f-<seq>
 * and parsing as a fault report of this service; anything else under faults/ (another writer's
 * nodes, junk, an entry we may not read) is neither counted nor deleted.
 */
export async function appendJournal(journal: FaultJournalOptions, report: FaultReport, index: JournalIndex = new Map()): Promise<void> {
  const { session, paths } = journal;
  const max = journal.maxEntries ?? 200;
  const created = await session.create(`${paths.faults}/${ENTRY_PREFIX}`, JSON.stringify(report), {
    mode: 'persistent-sequential', acl: serviceAcl(session, journal.acl),
  });
  index.set(created.slice(created.lastIndexOf('/') + 1), true);
  const { children } = await session.children(paths.faults);
  const entries = children.filter((n) => journalSequence(n) !== undefined).sort(bySequence);
  const present = new Set(entries);
  for (const name of index.keys()) if (!present.has(name)) index.delete(name);
  if (entries.length <= max) return;
  const unknown = entries.filter((n) => !index.has(n));
  for (let i = 0; i < unknown.length; i += READ_BATCH) {
    await Promise.all(unknown.slice(i, i + READ_BATCH).map(async (name) => index.set(name, await isOwnEntry(session, paths, name))));
  }
  const ours = entries.filter((n) => index.get(n) === true);
  for (const name of ours.slice(0, Math.max(0, ours.length - max))) {
    await session.delete(`${paths.faults}/${name}`).catch((e: unknown) => {
      if (!(e instanceof ZkError && e.code === 'NO_NODE')) throw e;
    });
    index.delete(name);
  }
}

async function isOwnEntry(session: ZkSession, paths: ServicePaths, name: string): Promise<boolean> {
  try {
    const { data } = await session.get(`${paths.faults}/${name}`);
    return parseJournalEntry(data).service === paths.service;
  } catch (error) {
    if (error instanceof ZkError && error.code !== 'NO_NODE' && error.code !== 'NO_AUTH') throw error;
    return false; // gone, unreadable or not a report: not ours to count or delete
  }
}

function bySequence(a: string, b: string): number {
  return journalSequence(a)! - journalSequence(b)!;
}

/**
 * Reads the journal, newest first. Only f-<seq> entries count; one that does not parse, or that
 * this session may not read, comes back in place as `rejected-input` naming the node.
 */
export async function readJournal(session: ZkSession, paths: ServicePaths, limit = 50): Promise<FaultReport[]> {
  const { children } = await session.children(paths.faults);
  const newest = children.filter((n) => journalSequence(n) !== undefined).sort(bySequence).reverse().slice(0, limit);
  const out: FaultReport[] = [];
  const rejected = (name: string, error: string): FaultReport => (
    { kind: 'rejected-input', service: paths.service, member: undefined, at: 0, durationMs: undefined, detail: { node: name, error } }
  );
  for (const name of newest) {
    try {
      const { data } = await session.get(`${paths.faults}/${name}`);
      out.push(parseJournalEntry(data));
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') continue;
      if (error instanceof ZkError && error.code === 'NO_AUTH') {
        out.push(rejected(name, 'unreadable: NO_AUTH (its ACL does not let this session read it)'));
        continue;
      }
      if (error instanceof ZkError) throw error; // a lost connection: the caller's to see
      out.push(rejected(name, String(error)));
    }
  }
  return out;
}

const MAX_DETAIL_DEPTH = 32;

/** A journal entry written by appendJournal; anything else (another writer, a hand edit) throws. */
function parseJournalEntry(data: Buffer): FaultReport {
  const parsed: unknown = JSON.parse(data.toString('utf8'));
  const r = parsed as Partial<Record<keyof FaultReport, unknown>> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new TypeError('entry is not a JSON object');
  if (typeof r.kind !== 'string' || typeof r.service !== 'string' || typeof r.at !== 'number') {
    throw new TypeError('entry lacks kind, service or at');
  }
  if (r.detail !== undefined && (r.detail === null || typeof r.detail !== 'object' || Array.isArray(r.detail))) {
    throw new TypeError('entry detail is not an object');
  }
  // Readers serialise entries (zk-ha faults --json, the dashboard): one nested thousands of levels
  // deep would overflow the stack there and hide every entry after it.
  if (nestsDeeperThan(r.detail, MAX_DETAIL_DEPTH)) throw new TypeError(`entry detail nests deeper than ${MAX_DETAIL_DEPTH} levels`);
  return {
    kind: r.kind as FaultKind,
    service: r.service,
    member: typeof r.member === 'string' ? r.member : undefined,
    at: r.at,
    durationMs: typeof r.durationMs === 'number' ? r.durationMs : undefined,
    detail: (r.detail ?? {}) as Record<string, unknown>,
  };
}
