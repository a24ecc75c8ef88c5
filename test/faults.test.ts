import { expect } from 'chai';
import { Registry } from 'prom-client';
import { FaultReporter, JOURNALED, transportFaultKind } from '../lib/ops/fault-reporter';
import type { FaultKind, FaultLogger, FaultReport } from '../lib/ops/fault-reporter';
import { HaMetrics } from '../lib/ops/metrics';
import { InvalidOptionError } from '../lib/base/errors';
import { faultJournalSink, servicePaths } from '../lib/coordination';
import type { ZkSession } from '../lib/zk';

type Level = 'info' | 'warn' | 'error';

/** Records what a pino-style logger would have been given. */
class FakeLogger implements FaultLogger {
  readonly lines: { level: Level; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  info(obj: object, msg?: string): void { this.lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }); }
  warn(obj: object, msg?: string): void { this.lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }); }
  error(obj: object, msg?: string): void { this.lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }); }
}

const EXPECTED_LEVEL: Record<FaultKind, Level> = {
  'failover': 'info',
  'elected': 'info',
  'demoted': 'warn',
  'member-joined': 'info',
  'member-left': 'info',
  'session-suspended': 'warn',
  'session-lost': 'error',
  'session-rejoined': 'info',
  'endpoint-down': 'warn',
  'endpoint-ejected': 'warn',
  'endpoint-recovered': 'info',
  'service-missing': 'warn',
  'rejected-input': 'warn',
  'transport': 'warn',
  'stale-epoch': 'warn',
  'start-failed': 'error',
  'zookeeper-error': 'error',
  'generation-changed': 'warn',
  'record-restored': 'warn',
  'isr-shrunk': 'warn',
  'isr-expanded': 'info',
  'isr-unavailable': 'warn',
  'replication': 'info',
};

describe('transportFaultKind', () => {
  it('bad input is rejected-input; connection noise is left to endpoint-down on clients; the rest is transport', () => {
    expect(transportFaultKind('UNDECODABLE_FRAME', 'server')).to.equal('rejected-input');
    expect(transportFaultKind('PAYLOAD_TOO_LARGE', 'client')).to.equal('rejected-input');
    expect(transportFaultKind('CONNECT_FAILED', 'client')).to.equal(undefined);
    expect(transportFaultKind('HEARTBEAT_TIMEOUT', 'client')).to.equal(undefined);
    expect(transportFaultKind('HEARTBEAT_TIMEOUT', 'server')).to.equal('transport');
    expect(transportFaultKind('OVERLOADED', 'server')).to.equal('transport');
    expect(transportFaultKind('HANDLER_ERROR', 'server')).to.equal('transport');
  });
});

describe('FaultReporter (event, log line, metric)', () => {
  it('emits a typed report with service, default member, wall-clock time, duration and detail', () => {
    const reporter = new FaultReporter({ service: 'orders', member: 'orders-a' });
    const seen: FaultReport[] = [];
    reporter.on('fault', (r) => seen.push(r));
    const before = Date.now();
    const returned = reporter.report('failover', { durationMs: 850, detail: { epoch: 12 } });
    const after = Date.now();
    expect(seen).to.deep.equal([returned]);
    expect(returned).to.include({ kind: 'failover', service: 'orders', member: 'orders-a', durationMs: 850 });
    expect(returned.detail).to.deep.equal({ epoch: 12 });
    expect(returned.at).to.be.within(before, after);
  });

  it('a report may name another member; without fields detail is {} and durationMs undefined', () => {
    const reporter = new FaultReporter({ service: 'orders', member: 'orders-a' });
    const r = reporter.report('endpoint-down', { member: 'orders-c' });
    expect(r.member).to.equal('orders-c');
    const bare = new FaultReporter({ service: 'orders' }).report('member-left');
    expect(bare).to.include({ member: undefined, durationMs: undefined });
    expect(bare.detail).to.deep.equal({});
  });

  it('logs one structured line per report at the level of its kind, with the kind as message', () => {
    const logger = new FakeLogger();
    const reporter = new FaultReporter({ service: 'orders', member: 'orders-a', logger });
    const kinds = Object.keys(EXPECTED_LEVEL) as FaultKind[];
    for (const kind of kinds) reporter.report(kind, { durationMs: 5, detail: { n: kind } });
    expect(logger.lines.map((l) => [l.msg, l.level])).to.deep.equal(kinds.map((k) => [k, EXPECTED_LEVEL[k]]));
    for (const line of logger.lines) {
      expect(line.obj).to.include({ zkha: 'fault', kind: line.msg, service: 'orders', member: 'orders-a', durationMs: 5 });
      expect(line.obj.detail).to.deep.equal({ n: line.msg });
      expect(line.obj.at).to.be.a('number');
    }
  });

  it('is silent without a logger: nothing reaches the console or stdout/stderr', () => {
    const writes: string[] = [];
    const saved = {
      log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug,
      out: process.stdout.write, err: process.stderr.write,
    };
    const capture = (...args: unknown[]): void => { writes.push(args.map(String).join(' ')); };
    const captureWrite = ((chunk: unknown): boolean => { writes.push(String(chunk)); return true; }) as typeof process.stdout.write;
    console.log = console.info = console.warn = console.error = console.debug = capture;
    process.stdout.write = captureWrite;
    process.stderr.write = captureWrite;
    try {
      const reporter = new FaultReporter({ service: 'orders' });
      for (const kind of Object.keys(EXPECTED_LEVEL) as FaultKind[]) reporter.report(kind);
    } finally {
      Object.assign(console, { log: saved.log, info: saved.info, warn: saved.warn, error: saved.error, debug: saved.debug });
      process.stdout.write = saved.out;
      process.stderr.write = saved.err;
    }
    expect(writes).to.deep.equal([]);
  });

  it('counts every report in the metrics when given HaMetrics', async () => {
    const registry = new Registry();
    const reporter = new FaultReporter({ service: 'orders', metrics: new HaMetrics({ registry }) });
    reporter.report('failover');
    reporter.report('endpoint-ejected', { member: 'orders-b' });
    reporter.report('endpoint-ejected', { member: 'orders-b' });
    const text = await registry.metrics();
    expect(text).to.include('zkha_faults_total{service="orders",kind="failover"} 1');
    expect(text).to.include('zkha_faults_total{service="orders",kind="endpoint-ejected"} 2');
    expect(text).to.include('zkha_failovers_total{service="orders"} 1');
    expect(text).to.include('zkha_ejections_total{service="orders"} 2'); // no per-member label: bounded label sets
  });

  it('journals only the cluster-wide kinds, and a failing journal never reaches the caller', async () => {
    const created: string[] = [];
    // A session whose every write fails: report() must still return, emit and log.
    const failing = {
      options: {},
      create: (path: string): Promise<string> => { created.push(path); return Promise.reject(new Error('ZooKeeper is down')); },
      children: (): Promise<never> => Promise.reject(new Error('unreachable')),
      delete: (): Promise<never> => Promise.reject(new Error('unreachable')),
    } as unknown as ZkSession;
    const logger = new FakeLogger();
    const reporter = new FaultReporter({ service: 'orders', logger, journal: faultJournalSink({ session: failing, paths: servicePaths('orders') }) });
    const kinds = Object.keys(EXPECTED_LEVEL) as FaultKind[];
    for (const kind of kinds) reporter.report(kind);
    await reporter.flush();
    expect(created).to.have.length(JOURNALED.size);
    expect(created.every((p) => p === '/zk-ha/orders/faults/f-')).to.equal(true);
    expect(logger.lines).to.have.length(kinds.length);
    expect([...JOURNALED].sort()).to.deep.equal(['demoted', 'elected', 'failover', 'isr-expanded', 'isr-shrunk', 'isr-unavailable', 'session-lost', 'session-rejoined']);
  });

  it('rejects a bad journal.maxEntries at construction', () => {
    const session = {} as ZkSession;
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      expect(() => faultJournalSink({ session, paths: servicePaths('orders'), maxEntries }), String(maxEntries))
        .to.throw(InvalidOptionError).with.property('option', 'journal.maxEntries');
    }
  });
});
