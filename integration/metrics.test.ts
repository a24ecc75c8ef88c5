/** Metrics end to end: an HaServer and an HaClient export to a prom-client registry, which the test scrapes. */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { HaClient, HaMetrics, HaServer, RpcError } from '../lib';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, uniqueRoot } from './support/wait';

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics (prom-client, real ZooKeeper)', function () {
  this.timeout(30000);
  it('servers and clients export calls, errors by code, latency, failovers, epoch and membership size', async () => {
    const { connectString } = await sharedZooKeeper();
    const root = uniqueRoot('metrics');
    const registry = new Registry();
    const metrics = new HaMetrics({ registry });
    const handlers = {
      ok: () => 'fine',
      bad: () => { throw new RpcError('INVALID_ARGUMENT', 'no'); },
    };
    const a = new HaServer({ zk: { connect: connectString, sessionTimeoutMs: 2000 }, service: 'm', mode: 'primary-backup', root, id: 'a', handlers, metrics });
    const b = new HaServer({ zk: { connect: connectString, sessionTimeoutMs: 2000 }, service: 'm', mode: 'primary-backup', root, id: 'b', handlers, metrics });
    await a.start();
    await b.start();
    const client = new HaClient({ zk: { connect: connectString }, service: 'm', root, metrics });
    try {
      await client.start();
      for (let i = 0; i < 5; i++) await client.call('ok');
      await client.call('bad').catch(() => undefined);
      await a.stepDown();
      await eventually('b is primary', () => b.role === 'primary');
      await client.call('ok', {}, { deadlineMs: 5000 });
      // a registers again shortly after its handover: wait until the views have seen it back.
      await eventually('both members in the views', async () => sample(await registry.metrics(), 'zkha_members', { service: 'm' }) === 2);
      const text = await registry.metrics();
      expect(sample(text, 'zkha_calls_total', { role: 'client', method: 'ok', code: 'OK' })).to.equal(6);
      expect(sample(text, 'zkha_calls_total', { role: 'client', method: 'bad', code: 'INVALID_ARGUMENT' })).to.equal(1);
      expect(sample(text, 'zkha_calls_total', { role: 'server', method: 'ok', code: 'OK' })).to.equal(6);
      expect(sample(text, 'zkha_calls_total', { role: 'server', method: 'bad', code: 'INVALID_ARGUMENT' })).to.equal(1);
      expect(sample(text, 'zkha_call_duration_seconds_count', { role: 'client', method: 'ok' })).to.equal(6);
      expect(sample(text, 'zkha_epoch', { service: 'm' })).to.equal(b.epoch);
      expect(sample(text, 'zkha_members', { service: 'm' })).to.equal(2);
      expect(sample(text, 'zkha_failovers_total', { service: 'm' })).to.be.at.least(1);
      expect(sample(text, 'zkha_faults_total', { service: 'm', kind: 'elected' })).to.be.at.least(2);
    } finally {
      await client.close();
      await a.close();
      await b.close();
    }
  });
});
