import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FaultReport } from '../base/fault-report';
import { InvalidOptionError } from '../base/errors';
import { knownKeys, methodsOption, optionKeys } from '../base/options';

/**
 * What zk-ha needs of a prom-client Registry, declared here so that the published types do not
 * require prom-client (an optional peer dependency): any prom-client Registry fits.
 */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void;
  getSingleMetric(name: string): unknown;
}

export interface HaMetricsOptions {
  /** A prom-client Registry; zk-ha registers its metrics there. prom-client is an optional dependency. */
  readonly registry: MetricsRegistry;
  /** Metric name prefix. Default "zkha_". */
  readonly prefix?: string;
  /**
   * At most this many distinct values of a free-form label (method, code, fault kind); later values
   * are counted under "_other", so a client inventing method names cannot grow the series without
   * bound. Default 100.
   */
  readonly maxLabelValues?: number;
}

const METRICS_OPTION_KEYS = optionKeys<HaMetricsOptions>({ registry: true, prefix: true, maxLabelValues: true });

/** The value counted for labels beyond maxLabelValues. */
export const OTHER_LABEL = '_other';

/** Keeps one label's set of values bounded: the first `max` values seen, then "_other". */
class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(v);
    return v;
  }
}

type PromClient = typeof import('prom-client');

/**
 * Prometheus metrics for servers and clients: calls, errors by code, latency histograms, failovers,
 * ejections, faults, current epoch and membership size. One instance may serve several services
 * (labelled by service); create it once per registry. Every label set is bounded: no label carries
 * a member id (a new one comes with every restart; those go to the logs and the fault journal).
 */
export class HaMetrics {
  private readonly calls: Counter<'service' | 'role' | 'method' | 'code'>;
  private readonly latency: Histogram<'service' | 'role' | 'method'>;
  private readonly failovers: Counter<'service'>;
  private readonly ejections: Counter<'service'>;
  private readonly faults: Counter<'service' | 'kind'>;
  private readonly epoch: Gauge<'service'>;
  private readonly members: Gauge<'service'>;
  /** The registry the metrics live in (what an HTTP /metrics endpoint exposes). */
  readonly registry: MetricsRegistry;
  private readonly methods: BoundedLabel;
  private readonly codes: BoundedLabel;
  private readonly kinds: BoundedLabel;
  private readonly services: BoundedLabel;

  constructor(options: HaMetricsOptions) {
    if (!options || typeof options.registry?.registerMetric !== 'function' || typeof options.registry.getSingleMetric !== 'function') {
      throw new InvalidOptionError('metrics.registry', 'must be a prom-client Registry');
    }
    knownKeys('metrics', options, METRICS_OPTION_KEYS);
    let prom: PromClient;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      prom = require('prom-client') as PromClient;
    } catch {
      throw new InvalidOptionError('metrics', 'needs the optional dependency prom-client (npm install prom-client)');
    }
    const p = options.prefix ?? 'zkha_';
    if (typeof p !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(p)) {
      throw new InvalidOptionError('metrics.prefix', `must be a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${JSON.stringify(p)}`);
    }
    if (options.registry.getSingleMetric(`${p}calls_total`)) {
      // prom-client would throw a plain Error half-way through registering; say why, before any is registered.
      throw new InvalidOptionError('metrics.registry', `already holds zk-ha metrics with prefix "${p}": create HaMetrics once per registry, or pass another prefix`);
    }
    const maxLabelValues = options.maxLabelValues ?? 100;
    if (!Number.isSafeInteger(maxLabelValues) || maxLabelValues < 1) {
      throw new InvalidOptionError('metrics.maxLabelValues', `must be a positive integer, got ${String(maxLabelValues)}`);
    }
    this.registry = options.registry;
    this.methods = new BoundedLabel(maxLabelValues);
    this.codes = new BoundedLabel(maxLabelValues);
    this.kinds = new BoundedLabel(maxLabelValues);
    this.services = new BoundedLabel(maxLabelValues);
    const registers = [options.registry as Registry];
    this.calls = new prom.Counter({ name: `${p}calls_total`, help: 'Calls by outcome code (OK or an error code)', labelNames: ['service', 'role', 'method', 'code'], registers });
    this.latency = new prom.Histogram({
      name: `${p}call_duration_seconds`, help: 'Call latency', labelNames: ['service', 'role', 'method'], registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.failovers = new prom.Counter({ name: `${p}failovers_total`, help: 'Primary changes seen', labelNames: ['service'], registers });
    this.ejections = new prom.Counter({ name: `${p}ejections_total`, help: 'Endpoints ejected by passive health checks', labelNames: ['service'], registers });
    this.faults = new prom.Counter({ name: `${p}faults_total`, help: 'Fault reports by kind', labelNames: ['service', 'kind'], registers });
    this.epoch = new prom.Gauge({ name: `${p}epoch`, help: 'Current primary epoch (fencing token)', labelNames: ['service'], registers });
    this.members = new prom.Gauge({ name: `${p}members`, help: 'Members in the service group', labelNames: ['service'], registers });
  }

  call(service: string, role: 'client' | 'server', method: string, code: string, seconds: number): void {
    const s = this.services.value(service);
    const m = this.methods.value(method);
    this.calls.inc({ service: s, role, method: m, code: this.codes.value(code) });
    this.latency.observe({ service: s, role, method: m }, seconds);
  }

  /** The Prometheus text of the registry (what GET /metrics serves); undefined when the registry cannot render itself. */
  exposition(): Promise<{ contentType: string; text: string }> | undefined {
    const r = this.registry as MetricsRegistry & Partial<{ metrics: () => Promise<string>; contentType: string }>;
    if (typeof r.metrics !== 'function') return undefined;
    return r.metrics().then((text) => ({ contentType: r.contentType ?? 'text/plain; version=0.0.4; charset=utf-8', text }));
  }

  fault(report: FaultReport): void {
    const service = this.services.value(report.service);
    this.faults.inc({ service, kind: this.kinds.value(report.kind) });
    if (report.kind === 'failover') this.failovers.inc({ service });
    if (report.kind === 'endpoint-ejected') this.ejections.inc({ service });
  }

  setEpoch(service: string, epoch: number): void {
    this.epoch.set({ service: this.services.value(service) }, epoch);
  }

  setMembers(service: string, count: number): void {
    this.members.set({ service: this.services.value(service) }, count);
  }
}

/** The `metrics` option of servers and clients: an HaMetrics, checked at construction (its methods are called only later). */
export function metricsOption(name: string, value: HaMetrics | undefined): HaMetrics | undefined {
  return methodsOption(name, value, ['call', 'fault', 'setEpoch', 'setMembers', 'exposition'], 'an HaMetrics (new HaMetrics({ registry }))');
}
