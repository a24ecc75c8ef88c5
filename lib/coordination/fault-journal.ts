import type { FaultKind, FaultReport } from '../base/fault-report';
import { integerInRange } from '../base/options';
import type { ZkSession } from '../zk';
import { ZkError } from '../zk';
import type { ServicePaths } from './paths';

export interface FaultJournalOptions {
  readonly session: ZkSession;
  readonly paths: ServicePaths;
  /** Oldest entries beyond this are trimmed. Default 200. */
  readonly maxEntries?: number;
}

/** A journal sink for FaultReporter: appends each report to the bounded journal under faults/. */
export function faultJournalSink(journal: FaultJournalOptions): (report: FaultReport) => Promise<void> {
  integerInRange('journal.maxEntries', journal.maxEntries, 1, 100_000, 200);
  return (report) => appendJournal(journal, report);
}

export async function appendJournal(journal: FaultJournalOptions, report: FaultReport): Promise<void> {
  const { session, paths } = journal;
  const max = journal.maxEntries ?? 200;
  await session.create(`${paths.faults}/f-`, JSON.stringify(report), { mode: 'persistent-sequential' });
  const { children } = await session.children(paths.faults);
  if (children.length <= max) return;
  const excess = children.sort().slice(0, children.length - max);
  for (const name of excess) {
    await session.delete(`${paths.faults}/${name}`).catch((e: unknown) => {
      if (!(e instanceof ZkError && e.code === 'NO_NODE')) throw e;
    });
  }
}

/** Reads the journal, newest first. Entries that do not parse are returned as `rejected-input`. */
export async function readJournal(session: ZkSession, paths: ServicePaths, limit = 50): Promise<FaultReport[]> {
  const { children } = await session.children(paths.faults);
  const newest = children.sort().reverse().slice(0, limit);
  const out: FaultReport[] = [];
  for (const name of newest) {
    try {
      const { data } = await session.get(`${paths.faults}/${name}`);
      out.push(parseJournalEntry(data));
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') continue;
      if (error instanceof ZkError) throw error; // NO_AUTH, lost connection: the caller's to see
      out.push({ kind: 'rejected-input', service: paths.service, member: undefined, at: 0, durationMs: undefined, detail: { node: name, error: String(error) } });
    }
  }
  return out;
}

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
  return {
    kind: r.kind as FaultKind,
    service: r.service,
    member: typeof r.member === 'string' ? r.member : undefined,
    at: r.at,
    durationMs: typeof r.durationMs === 'number' ? r.durationMs : undefined,
    detail: (r.detail ?? {}) as Record<string, unknown>,
  };
}
