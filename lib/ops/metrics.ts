import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FaultReport } from '../base/fault-report';
import { InvalidOptionError } from '../base/errors';

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
}

type PromClient = typeof import('prom-client');

/**
 * Prometheus metrics for servers and clients: calls, errors by code, latency histograms, failovers,
 * ejections, faults, current epoch and membership size. One instance may serve several services
 * (labelled by service); create it once per registry.
 */
export class HaMetrics {
  private readonly calls: Counter<'service' | 'role' | 'method' | 'code'>;
  private readonly latency: Histogram<'service' | 'role' | 'method'>;
  private readonly failovers: Counter<'service'>;
  private readonly ejections: Counter<'service' | 'member'>;
  private readonly faults: Counter<'service' | 'kind'>;
  private readonly epoch: Gauge<'service'>;
  private readonly members: Gauge<'service'>;

  constructor(options: HaMetricsOptions) {
    if (!options || typeof options.registry?.registerMetric !== 'function' || typeof options.registry.getSingleMetric !== 'function') {
      throw new InvalidOptionError('metrics.registry', 'must be a prom-client Registry');
    }
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
    const registers = [options.registry as Registry];
    this.calls = new prom.Counter({ name: `${p}calls_total`, help: 'Calls by outcome code (OK or an error code)', labelNames: ['service', 'role', 'method', 'code'], registers });
    this.latency = new prom.Histogram({
      name: `${p}call_duration_seconds`, help: 'Call latency', labelNames: ['service', 'role', 'method'], registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.failovers = new prom.Counter({ name: `${p}failovers_total`, help: 'Primary changes seen', labelNames: ['service'], registers });
    this.ejections = new prom.Counter({ name: `${p}ejections_total`, help: 'Endpoints ejected by passive health checks', labelNames: ['service', 'member'], registers });
    this.faults = new prom.Counter({ name: `${p}faults_total`, help: 'Fault reports by kind', labelNames: ['service', 'kind'], registers });
    this.epoch = new prom.Gauge({ name: `${p}epoch`, help: 'Current primary epoch (fencing token)', labelNames: ['service'], registers });
    this.members = new prom.Gauge({ name: `${p}members`, help: 'Members in the service group', labelNames: ['service'], registers });
  }

  call(service: string, role: 'client' | 'server', method: string, code: string, seconds: number): void {
    this.calls.inc({ service, role, method, code });
    this.latency.observe({ service, role, method }, seconds);
  }

  fault(report: FaultReport): void {
    this.faults.inc({ service: report.service, kind: report.kind });
    if (report.kind === 'failover') this.failovers.inc({ service: report.service });
    if (report.kind === 'endpoint-ejected') this.ejections.inc({ service: report.service, member: report.member ?? '' });
  }

  setEpoch(service: string, epoch: number): void {
    this.epoch.set({ service }, epoch);
  }

  setMembers(service: string, count: number): void {
    this.members.set({ service }, count);
  }
}
