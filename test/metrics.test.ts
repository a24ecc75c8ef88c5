import { expect } from 'chai';
import { Registry } from 'prom-client';
import { HaMetrics } from '../lib/ops/metrics';
import { InvalidOptionError } from '../lib/base/errors';
import type { FaultKind, FaultReport } from '../lib/ops/fault-reporter';

function report(kind: FaultKind, member?: string, service = 'orders'): FaultReport {
  return { kind, service, member, at: Date.now(), durationMs: undefined, detail: {} };
}

/** The value of one sample line `name{labels} value` of a scrape, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('HaMetrics (prom-client registry)', () => {
  it('registers every metric with help and type on the given registry', async () => {
    const registry = new Registry();
    new HaMetrics({ registry });
    const text = await registry.metrics();
    for (const [name, type] of [
      ['zkha_calls_total', 'counter'], ['zkha_call_duration_seconds', 'histogram'], ['zkha_failovers_total', 'counter'],
      ['zkha_ejections_total', 'counter'], ['zkha_faults_total', 'counter'], ['zkha_epoch', 'gauge'], ['zkha_members', 'gauge'],
    ]) {
      expect(text).to.include(`# TYPE ${name} ${type}`);
      expect(text).to.match(new RegExp(`^# HELP ${name} \\S`, 'm'));
    }
  });

  it('counts calls by outcome code and observes their latency', async () => {
    const registry = new Registry();
    const metrics = new HaMetrics({ registry });
    metrics.call('orders', 'client', 'get', 'OK', 0.002);
    metrics.call('orders', 'client', 'get', 'OK', 0.2);
    metrics.call('orders', 'client', 'get', 'UNAVAILABLE', 0.00005);
    metrics.call('orders', 'server', 'get', 'OK', 0.001);
    const text = await registry.metrics();
    expect(sample(text, 'zkha_calls_total{service="orders",role="client",method="get",code="OK"}')).to.equal(2);
    expect(sample(text, 'zkha_calls_total{service="orders",role="client",method="get",code="UNAVAILABLE"}')).to.equal(1);
    expect(sample(text, 'zkha_calls_total{service="orders",role="server",method="get",code="OK"}')).to.equal(1);
    expect(sample(text, 'zkha_call_duration_seconds_count{service="orders",role="client",method="get"}')).to.equal(3);
    expect(sample(text, 'zkha_call_duration_seconds_sum{service="orders",role="client",method="get"}')).to.be.closeTo(0.20205, 1e-9);
    expect(sample(text, 'zkha_call_duration_seconds_bucket{le="0.0001",service="orders",role="client",method="get"}')).to.equal(1);
    expect(sample(text, 'zkha_call_duration_seconds_bucket{le="0.0025",service="orders",role="client",method="get"}')).to.equal(2);
    expect(sample(text, 'zkha_call_duration_seconds_bucket{le="+Inf",service="orders",role="client",method="get"}')).to.equal(3);
  });

  it('counts faults by kind, failovers and ejections per service (no member label: ids change with every restart)', async () => {
    const registry = new Registry();
    const metrics = new HaMetrics({ registry });
    metrics.fault(report('failover'));
    metrics.fault(report('failover'));
    metrics.fault(report('endpoint-ejected', 'orders-b'));
    metrics.fault(report('session-lost', 'orders-a', 'search'));
    const text = await registry.metrics();
    expect(sample(text, 'zkha_faults_total{service="orders",kind="failover"}')).to.equal(2);
    expect(sample(text, 'zkha_faults_total{service="orders",kind="endpoint-ejected"}')).to.equal(1);
    expect(sample(text, 'zkha_faults_total{service="search",kind="session-lost"}')).to.equal(1);
    expect(sample(text, 'zkha_failovers_total{service="orders"}')).to.equal(2);
    expect(sample(text, 'zkha_failovers_total{service="search"}')).to.equal(undefined);
    expect(sample(text, 'zkha_ejections_total{service="orders"}')).to.equal(1);
    expect(text).not.to.include('member=');
  });

  it('keeps free-form label sets bounded: values past maxLabelValues count as "_other"', async () => {
    const registry = new Registry();
    const metrics = new HaMetrics({ registry, maxLabelValues: 3 });
    for (let i = 0; i < 50; i++) metrics.call('orders', 'server', `m${i}`, 'NOT_PRIMARY', 0);
    metrics.call('orders', 'server', 'm1', 'NOT_PRIMARY', 0);
    const text = await registry.metrics();
    expect(sample(text, 'zkha_calls_total{service="orders",role="server",method="m1",code="NOT_PRIMARY"}')).to.equal(2);
    expect(sample(text, 'zkha_calls_total{service="orders",role="server",method="_other",code="NOT_PRIMARY"}')).to.equal(47);
    expect(text.split('\n').filter((l) => l.startsWith('zkha_calls_total{')).length).to.equal(4);
    expect(() => new HaMetrics({ registry: new Registry(), maxLabelValues: 0 })).to.throw(InvalidOptionError).with.property('option', 'metrics.maxLabelValues');
  });

  it('sets the epoch and the member count per service', async () => {
    const registry = new Registry();
    const metrics = new HaMetrics({ registry });
    metrics.setEpoch('orders', 41);
    metrics.setEpoch('orders', 42);
    metrics.setMembers('orders', 3);
    metrics.setMembers('search', 5);
    const text = await registry.metrics();
    expect(sample(text, 'zkha_epoch{service="orders"}')).to.equal(42);
    expect(sample(text, 'zkha_members{service="orders"}')).to.equal(3);
    expect(sample(text, 'zkha_members{service="search"}')).to.equal(5);
  });

  it('uses the prefix option for every name', async () => {
    const registry = new Registry();
    const metrics = new HaMetrics({ registry, prefix: 'shop_' });
    metrics.setMembers('orders', 2);
    const text = await registry.metrics();
    expect(sample(text, 'shop_members{service="orders"}')).to.equal(2);
    expect(text).not.to.include('zkha_');
  });

  it('rejects a missing or wrong registry and a bad prefix with InvalidOptionError', () => {
    const bad: unknown[] = [undefined, {}, { registry: undefined }, { registry: {} }, { registry: { registerMetric: 'no' } }, { registry: new Map() }];
    for (const options of bad) {
      expect(() => new HaMetrics(options as ConstructorParameters<typeof HaMetrics>[0]), JSON.stringify(options))
        .to.throw(InvalidOptionError).with.property('option', 'metrics.registry');
    }
    for (const prefix of ['', '1x_', 'has space', 'dash-']) {
      expect(() => new HaMetrics({ registry: new Registry(), prefix }), prefix).to.throw(InvalidOptionError).with.property('option', 'metrics.prefix');
    }
  });

  it('a second HaMetrics on the same registry and prefix is an InvalidOptionError, another prefix is fine', async () => {
    const registry = new Registry();
    new HaMetrics({ registry });
    expect(() => new HaMetrics({ registry })).to.throw(InvalidOptionError, /once per registry/).with.property('option', 'metrics.registry');
    const other = new HaMetrics({ registry, prefix: 'other_' });
    other.setEpoch('orders', 1);
    expect(sample(await registry.metrics(), 'other_epoch{service="orders"}')).to.equal(1);
  });
});
