import { expect } from 'chai';
import { Registry } from 'prom-client';
import { FaultReporter, transportFaultKind } from '../lib/ops/fault-reporter';
import type { FaultLogger, FaultReport } from '../lib/ops/fault-reporter';
import { ReportLimiter, SuppressedSummary } from '../lib/ops/report-limiter';
import { HaMetrics } from '../lib/ops/metrics';
import { InvalidOptionError } from '../lib/base/errors';
import { RpcServer } from '../lib/transport';
import { rawClient, until } from './transport/helpers';

class LineLogger implements FaultLogger {
  readonly lines: string[] = [];
  info(obj: object): void { this.lines.push(JSON.stringify(obj)); }
  warn(obj: object): void { this.lines.push(JSON.stringify(obj)); }
  error(obj: object): void { this.lines.push(JSON.stringify(obj)); }
}

describe('rate-limited, aggregated bad-input reports', () => {
  it('ReportLimiter: a burst per key per interval in full, the rest counted into one summary', () => {
    let now = 0;
    const summaries: SuppressedSummary[] = [];
    const limiter = new ReportLimiter({ intervalMs: 1000, burst: 5 }, (s) => summaries.push(s), () => now);
    let admitted = 0;
    for (let i = 0; i < 20_001; i++) if (limiter.admit('rejected-input:BAD_FRAME')) admitted++;
    expect(limiter.admit('transport:OVERLOADED')).to.equal(true);
    expect(admitted).to.equal(5);
    now = 1500; // next interval: the previous one is summarised, counting starts again
    expect(limiter.admit('rejected-input:BAD_FRAME')).to.equal(true);
    expect(summaries).to.deep.equal([{ key: 'rejected-input:BAD_FRAME', suppressed: 19_996, intervalMs: 1500 }]);
    limiter.flush();
    expect(summaries).to.have.length(1);
    expect(() => new ReportLimiter({ burst: -1 }, () => undefined)).to.throw(InvalidOptionError, /burst/);
  });

  it('FaultReporter: 20 001 bad inputs make a handful of bounded log lines; metrics count them all', async () => {
    const logger = new LineLogger();
    const registry = new Registry();
    const reporter = new FaultReporter({ service: 'orders', logger, metrics: new HaMetrics({ registry }), rateLimit: { burst: 3 } });
    const events: FaultReport[] = [];
    reporter.on('fault', (r) => events.push(r));
    const huge = 'x'.repeat(3 * 1024 * 1024);
    for (let i = 0; i < 20_001; i++) reporter.report('rejected-input', { detail: { code: 'BAD_FRAME', message: huge, nested: { more: huge, deep: { x: 1 } } } });
    for (let i = 0; i < 10; i++) reporter.report('elected', { detail: { epoch: i } }); // never limited
    reporter.flushSummaries();
    const bad = logger.lines.filter((l) => l.includes('rejected-input'));
    expect(bad).to.have.length(4); // 3 in full + 1 summary
    expect(JSON.parse(bad[3]!).detail).to.include({ code: 'BAD_FRAME', suppressed: 19_998, summary: true });
    for (const line of logger.lines) expect(line.length).to.be.lessThan(2048);
    expect(logger.lines.filter((l) => l.includes('"elected"'))).to.have.length(10);
    expect(events).to.have.length(14);
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name.endsWith('faults_total'));
    const counted = (metric?.values ?? []).filter((v) => v.labels.kind === 'rejected-input').reduce((n, v) => n + v.value, 0);
    expect(counted).to.equal(20_001);
  });

  it('a server flooded with 20 001 bad frames (one 3 MB) logs a few lines, not 20 001', async () => {
    const logger = new LineLogger();
    const reporter = new FaultReporter({ service: 'flood', logger });
    let raw = 0;
    const server = new RpcServer({
      maxFrameBytes: 4 * 1024 * 1024,
      onFault: (f) => {
        raw++;
        reporter.report(transportFaultKind(f.code, 'server') ?? 'transport', { detail: { ...f } });
      },
    });
    const { url } = await server.listen();
    const ws = await rawClient(url);
    let seen = 0;
    reporter.on('fault', () => seen++);
    try {
      const garbage = Buffer.from([0xc1, 0xc1, 0xc1]);
      for (let i = 0; i < 20_000; i++) ws.send(garbage);
      ws.send(Buffer.concat([Buffer.from([0xdb, 0x00, 0x30, 0x00, 0x00]), Buffer.alloc(3 * 1024 * 1024, 0x41), Buffer.from([0xc1])]));
      await until(() => raw === 20_001, 20_000, 'every bad frame read');
      reporter.flushSummaries();
      expect(logger.lines).to.have.length(6); // 5 in full, 1 summary
      expect(JSON.parse(logger.lines[5]!).detail).to.include({ code: 'UNDECODABLE_FRAME', suppressed: 19_996 });
      for (const line of logger.lines) expect(line.length).to.be.lessThan(4096);
      expect(seen).to.equal(logger.lines.length);
    } finally {
      ws.terminate();
      await server.close({ graceMs: 0 });
    }
  });
});
