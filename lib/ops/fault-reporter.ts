import { wallClockMs } from '../base/clock';
import { EventEmitter } from 'events';
import type { FaultKind, FaultReport } from '../base/fault-report';
import { metricsOption } from './metrics';
import type { HaMetrics } from './metrics';
import { InvalidOptionError } from '../base/errors';
import { methodsOption } from '../base/options';
import { truncateText } from '../base/untrusted';
import { ReportLimiter, ReportLimiterOptions, SuppressedSummary } from './report-limiter';

/** The subset of a pino logger zk-ha uses; pino, bunyan-style and console-like loggers fit. */
export interface FaultLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The `logger` option: checked at construction, as it is first called at the first fault. */
export function loggerOption(name: string, value: FaultLogger | undefined): FaultLogger | undefined {
  return methodsOption(name, value, ['info', 'warn', 'error'], 'a logger (pino, console...)');
}

export type { FaultKind, FaultReport };
export const JOURNALED: ReadonlySet<FaultKind> = new Set<FaultKind>(['failover', 'session-lost', 'session-rejoined', 'elected', 'demoted', 'isr-shrunk', 'isr-expanded', 'isr-unavailable']);
const WARN: ReadonlySet<FaultKind> = new Set<FaultKind>(['demoted', 'session-suspended', 'endpoint-down', 'endpoint-ejected', 'stale-epoch', 'generation-changed', 'record-restored', 'rejected-input', 'transport', 'isr-shrunk', 'isr-unavailable', 'service-missing']);

/** How long journal entries wait before they are written (see FaultReporter.journal). */
export const JOURNAL_DELAY_MS = 100;

/** Transport fault codes that mean bad input from the peer (the rest are 'transport' events). */
const INPUT_CODES: ReadonlySet<string> = new Set([
  'UNDECODABLE_FRAME', 'BAD_FRAME', 'FRAME_TOO_COMPLEX', 'TEXT_FRAME', 'UNEXPECTED_FRAME', 'DUPLICATE_CALL_ID', 'PAYLOAD_TOO_LARGE',
  'FRAME_OVER_HARD_LIMIT', 'PROTOCOL_VERSION', 'UNAUTHENTICATED', 'NOT_ENCODABLE', 'BAD_HTTP_REQUEST', 'PING_FLOOD',
]);
/** Connection-level codes a client already reports as endpoint-down (and repeats on every reconnect attempt). */
const CONNECTION_CODES: ReadonlySet<string> = new Set(['CONNECT_FAILED', 'HEARTBEAT_TIMEOUT', 'SOCKET_ERROR']);

/** The fault kind of a transport fault code; undefined for connection noise a client reports otherwise. */
export function transportFaultKind(code: string, side: 'client' | 'server'): FaultKind | undefined {
  if (INPUT_CODES.has(code)) return 'rejected-input';
  if (side === 'client' && CONNECTION_CODES.has(code)) return undefined;
  return 'transport';
}
const ERROR: ReadonlySet<FaultKind> = new Set<FaultKind>(['session-lost', 'start-failed', 'zookeeper-error']);

/** Where cluster-wide reports go (the ZooKeeper journal, injected by the HA layer). */
export type FaultJournalSink = (report: FaultReport) => Promise<void>;

export interface FaultReporterOptions {
  readonly service: string;
  readonly member?: string;
  readonly logger?: FaultLogger;
  readonly metrics?: HaMetrics;
  readonly journal?: FaultJournalSink;
  /**
   * Reports an outsider can trigger ('rejected-input', 'transport', 'record-restored') are rate limited per kind
   * and code: the first `burst` per interval in full (details truncated), then one summary per
   * interval with the count left out. Metrics count every occurrence.
   */
  readonly rateLimit?: ReportLimiterOptions;
}

/** Kinds an outsider can trigger at will (bad frames, bad znode data, floods). */
const RATE_LIMITED: ReadonlySet<FaultKind> = new Set<FaultKind>(['rejected-input', 'transport', 'record-restored']);
/** Distinct limiter keys kept; beyond, further codes share one key (codes could come from outside). */
const MAX_KEYS = 256;

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
  /** Reports waiting for the journal's delay (see JOURNAL_DELAY_MS), and its timer. */
  private journalPending: { report: FaultReport; journal: FaultJournalSink }[] = [];
  private journalTimer: NodeJS.Timeout | undefined;
  private readonly limiter: ReportLimiter;
  private readonly keys = new Set<string>();

  constructor(private readonly options: FaultReporterOptions) {
    super();
    if (options.journal !== undefined && typeof options.journal !== 'function') throw new InvalidOptionError('journal', 'must be a function (report) => Promise<void>');
    loggerOption('logger', options.logger);
    metricsOption('metrics', options.metrics);
    this.limiter = new ReportLimiter(options.rateLimit ?? {}, (s) => this.summarise(s));
  }

  report(kind: FaultKind, fields: { member?: string; durationMs?: number; detail?: Record<string, unknown> } = {}): FaultReport {
    const limited = RATE_LIMITED.has(kind);
    const report: FaultReport = {
      kind,
      service: this.options.service,
      member: fields.member ?? this.options.member,
      at: wallClockMs(),
      durationMs: fields.durationMs,
      detail: limited && fields.detail !== undefined ? this.limiter.truncate(fields.detail) : fields.detail ?? {},
    };
    if (limited && !this.limiter.admit(this.keyOf(kind, report.detail.code))) {
      // Counted, not told: the summary at the end of the interval says how many.
      this.options.metrics?.fault(report);
      return report;
    }
    this.deliver(report);
    this.options.metrics?.fault(report);
    if (this.options.journal && JOURNALED.has(kind)) this.journal(report, this.options.journal);
    return report;
  }

  /** Emits now the summaries of reports held back by rate limiting (tests, shutdown). */
  flushSummaries(): void {
    this.limiter.flush();
  }

  private keyOf(kind: FaultKind, code: unknown): string {
    const key = `${kind}:${code === undefined ? '' : truncateText(String(code), 40)}`;
    if (this.keys.has(key)) return key;
    if (this.keys.size >= MAX_KEYS) return `${kind}:*`;
    this.keys.add(key);
    return key;
  }

  private summarise(s: SuppressedSummary): void {
    const sep = s.key.indexOf(':');
    const kind = s.key.slice(0, sep) as FaultKind;
    const code = s.key.slice(sep + 1);
    this.deliver({
      kind,
      service: this.options.service,
      member: this.options.member,
      at: wallClockMs(),
      durationMs: s.intervalMs,
      detail: { code, suppressed: s.suppressed, intervalMs: s.intervalMs, summary: true },
    });
  }

  /** The event and the log line. */
  private deliver(report: FaultReport): void {
    const kind = report.kind;
    this.emit('fault', report);
    const logger = this.options.logger;
    if (logger) {
      const line = { zkha: 'fault', ...report };
      if (ERROR.has(kind)) logger.error(line, kind);
      else if (WARN.has(kind)) logger.warn(line, kind);
      else logger.info(line, kind);
    }
  }

  /** Writes the delayed journal entries now and waits for every queued write (tests, graceful shutdown). */
  flush(): Promise<void> {
    this.writeJournal();
    return this.journalQueue;
  }

  /**
   * Serialised, best effort, and a moment late: the journal must never block or fail the caller, and
   * its writes must not go ahead of the write that reported event is part of. ZooKeeper runs a
   * session's requests in order, so a "demoted" entry written at once would sit in front of the
   * handover's release (and "elected" in front of the new primary's lease node) on the same session:
   * one ZooKeeper write more on the critical path of every leader change.
   */
  private journal(report: FaultReport, journal: FaultJournalSink): void {
    this.journalPending.push({ report, journal });
    if (this.journalTimer === undefined) {
      this.journalTimer = setTimeout(() => this.writeJournal(), JOURNAL_DELAY_MS);
      this.journalTimer.unref();
    }
  }

  private writeJournal(): void {
    if (this.journalTimer !== undefined) clearTimeout(this.journalTimer);
    this.journalTimer = undefined;
    const pending = this.journalPending;
    this.journalPending = [];
    for (const { report, journal } of pending) {
      this.journalQueue = this.journalQueue.then(() => journal(report)).catch(() => undefined);
    }
  }
}

