import { EventEmitter } from 'events';
import type { ZkSession } from './zk';
import { ZkError } from './zk';
import type { ServicePaths } from './coordination';
import type { HaMetrics } from './metrics';
import { integerInRange } from './options';

/** What happened. Cluster-wide kinds (see JOURNALED) also go to the ZooKeeper journal. */
export type FaultKind =
  | 'failover'            // a new primary serves; durationMs = unavailability measured by the reporter
  | 'elected'             // this member became primary
  | 'demoted'             // this member stopped being primary (detail.reason)
  | 'member-joined'
  | 'member-left'
  | 'session-suspended'
  | 'session-lost'        // the ZooKeeper session expired (told, or by the local timer)
  | 'session-rejoined'    // a new session replaced a lost one; durationMs = time without a session
  | 'endpoint-down'       // transport: connection to an endpoint died
  | 'endpoint-ejected'    // passive health: ejected for detail.forMs
  | 'endpoint-recovered'  // a probe call re-admitted it
  | 'rejected-input'      // a bad frame, bad znode data or bad option value, refused with a typed error
  | 'transport'           // a transport event that is not bad input: overload, a handler failure, a slow reader
  | 'stale-epoch';        // a response from a lower epoch than already seen was refused (FENCED)

export interface FaultReport {
  readonly kind: FaultKind;
  readonly service: string;
  /** Member id concerned (the reporter's own, or the remote endpoint's). */
  readonly member: string | undefined;
  /** Wall-clock time (ms since the epoch) — for humans and journals. */
  readonly at: number;
  readonly durationMs: number | undefined;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** The subset of a pino logger zk-ha uses; pino, bunyan-style and console-like loggers fit. */
export interface FaultLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const JOURNALED: ReadonlySet<FaultKind> = new Set<FaultKind>(['failover', 'session-lost', 'session-rejoined', 'elected', 'demoted']);
const WARN: ReadonlySet<FaultKind> = new Set<FaultKind>(['demoted', 'session-suspended', 'endpoint-down', 'endpoint-ejected', 'stale-epoch', 'rejected-input', 'transport']);

/** Transport fault codes that mean bad input from the peer (the rest are 'transport' events). */
const INPUT_CODES: ReadonlySet<string> = new Set([
  'UNDECODABLE_FRAME', 'BAD_FRAME', 'TEXT_FRAME', 'UNEXPECTED_FRAME', 'DUPLICATE_CALL_ID', 'PAYLOAD_TOO_LARGE',
  'FRAME_OVER_HARD_LIMIT', 'PROTOCOL_VERSION', 'UNAUTHENTICATED', 'NOT_ENCODABLE',
]);
/** Connection-level codes a client already reports as endpoint-down (and repeats on every reconnect attempt). */
const CONNECTION_CODES: ReadonlySet<string> = new Set(['CONNECT_FAILED', 'HEARTBEAT_TIMEOUT', 'SOCKET_ERROR']);

/** The fault kind of a transport fault code; undefined for connection noise a client reports otherwise. */
export function transportFaultKind(code: string, side: 'client' | 'server'): FaultKind | undefined {
  if (INPUT_CODES.has(code)) return 'rejected-input';
  if (side === 'client' && CONNECTION_CODES.has(code)) return undefined;
  return 'transport';
}
const ERROR: ReadonlySet<FaultKind> = new Set<FaultKind>(['session-lost']);

export interface FaultJournalOptions {
  readonly session: ZkSession;
  readonly paths: ServicePaths;
  /** Oldest entries beyond this are trimmed. Default 200. */
  readonly maxEntries?: number;
}

export interface FaultReporterOptions {
  readonly service: string;
  readonly member?: string;
  readonly logger?: FaultLogger;
  readonly metrics?: HaMetrics;
  readonly journal?: FaultJournalOptions;
}

export interface FaultReporterEvents {
  fault: [report: FaultReport];
}

/**
 * Delivers every fault four ways: an event, a structured log line (silent without a logger), a
 * metric, and — for cluster-wide kinds — an entry in the bounded journal under
 * /<root>/<service>/faults that `zk-ha faults <service>` prints.
 */
export class FaultReporter extends EventEmitter<FaultReporterEvents> {
  private journalQueue: Promise<void> = Promise.resolve();

  constructor(private readonly options: FaultReporterOptions) {
    super();
    if (options.journal) integerInRange('journal.maxEntries', options.journal.maxEntries, 1, 100_000, 200);
  }

  report(kind: FaultKind, fields: { member?: string; durationMs?: number; detail?: Record<string, unknown> } = {}): FaultReport {
    const report: FaultReport = {
      kind,
      service: this.options.service,
      member: fields.member ?? this.options.member,
      at: Date.now(),
      durationMs: fields.durationMs,
      detail: fields.detail ?? {},
    };
    this.emit('fault', report);
    const logger = this.options.logger;
    if (logger) {
      const line = { zkha: 'fault', ...report };
      if (ERROR.has(kind)) logger.error(line, kind);
      else if (WARN.has(kind)) logger.warn(line, kind);
      else logger.info(line, kind);
    }
    this.options.metrics?.fault(report);
    if (this.options.journal && JOURNALED.has(kind)) this.journal(report, this.options.journal);
    return report;
  }

  /** Waits for journal writes already queued (tests, graceful shutdown). */
  flush(): Promise<void> {
    return this.journalQueue;
  }

  private journal(report: FaultReport, journal: FaultJournalOptions): void {
    // Serialised, best effort: the journal must never block or fail the caller.
    this.journalQueue = this.journalQueue.then(() => appendJournal(journal, report)).catch(() => undefined);
  }
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
