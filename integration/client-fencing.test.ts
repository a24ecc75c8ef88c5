/**
 * Fencing that cannot be poisoned (issue 14.5), against real ZooKeeper and server processes: the
 * client raises its fence only from the primary its own view acknowledges.
 */
import { expect } from 'chai';
import { HaClient } from '../lib';
import { ZkSession } from '../lib/blocks';
import { startServer } from './support/ha-fixtures';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot } from './support/wait';
import type { Worker } from './support/worker';

const T = 1500; // servers' session timeout

describe('client fencing (real ZooKeeper)', function () {
  this.timeout(120000);
  let connect: string;
  const workers: Worker[] = [];
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => { connect = (await sharedZooKeeper()).connectString; });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  it("the primary's record unreadable for a while does not fence the primary out for good", async () => {
    const root = uniqueRoot('fence-forever');
    for (const id of ['s1', 's2']) workers.push(await startServer({ connect, root, service: 'svc', mode: 'primary-backup', id, sessionTimeoutMs: T }));
    await eventually('a primary', () => workers.some((w) => w.of('elected').length > 0));
    const c = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', root, deadlineMs: 2000,
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 20, maxMs: 200 } } });
    closers.push(() => c.close());
    await c.start();
    const first = await c.callWithInfo<{ id: string }>('whoami');
    const primary = c.view.snapshot.members.find((m) => m.record.id === first.result.id)!;
    const faults: string[] = [];
    c.on('fault', (f) => faults.push(f.kind));

    // An operator (or a bug) overwrites the primary's record with garbage; the view rejects it.
    const admin = new ZkSession({ connect });
    await admin.start();
    closers.push(() => admin.close());
    const original = (await admin.get(primary.path)).data;
    await admin.set(primary.path, Buffer.from('not json {'));
    await eventually('the view rejected the record', () => faults.includes('rejected-input'));
    const during = await Promise.allSettled([1, 2, 3].map(() => c.call('whoami', {}, { deadlineMs: 300 })));
    await sleep(1000);
    await admin.set(primary.path, original).catch(() => undefined); // gone if a successor took over meanwhile

    // From here on every call succeeds again: none is refused as FENCED.
    await eventually('calls succeed again', async () => (await c.callWithInfo('whoami').then(() => true, () => false)));
    const after = [];
    for (let i = 0; i < 50; i++) after.push(await c.callWithInfo('incr'));
    expect(after.every((r) => r.epoch !== undefined && r.epoch >= c.epoch)).to.equal(true);
    expect(faults).to.not.include('stale-epoch');
    expect(during.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).to.not.include('FENCED');
  });

  it('the service node recreated (a new generation, sequences restart): answers are accepted again', async () => {
    const root = uniqueRoot('fence-generation');
    const s1 = await startServer({ connect, root, service: 'svc', mode: 'primary-backup', id: 's1', sessionTimeoutMs: T });
    workers.push(s1);
    const s2 = await startServer({ connect, root, service: 'svc', mode: 'primary-backup', id: 's2', sessionTimeoutMs: T });
    workers.push(s2);
    const c = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', root, deadlineMs: 3000,
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 20, maxMs: 200 } } });
    closers.push(() => c.close());
    await c.start();
    const faults: string[] = [];
    c.on('fault', (f) => faults.push(f.kind));
    // s1 (sequence 0) dies: s2 (sequence 1) takes over, and the client's fence rises to 1.
    await s1.kill();
    await eventually('s2 serves', async () => (await c.callWithInfo<{ id: string }>('whoami', {}, { idempotent: true })).result.id === 's2');
    const oldFence = c.epoch;
    expect(oldFence).to.be.at.least(1);
    const oldGeneration = c.view.snapshot.generation;

    // The whole service subtree goes (an operator's deleteall, or ZooKeeper lost its data): s2
    // recreates the service node and registers again, at sequence 0 of the new generation.
    const admin = new ZkSession({ connect });
    await admin.start();
    closers.push(() => admin.close());
    await eventually('service node deleted', () => admin.deleteRecursive(`${root}/svc`).then(() => true, () => false));
    await eventually('a new generation with a primary', () =>
      c.view.snapshot.generation !== oldGeneration && c.view.snapshot.generation !== '' && c.view.snapshot.primary !== undefined, 30000);

    await eventually('calls succeed again', async () => (await c.callWithInfo('whoami').then(() => true, () => false)), 30000);
    const after = [];
    for (let i = 0; i < 20; i++) after.push(await c.callWithInfo('incr'));
    expect(faults).to.include('generation-changed');
    expect(c.epoch, 'the fence restarted in the new generation').to.be.below(oldFence);
    expect(after.every((r) => r.epoch === c.epoch)).to.equal(true);
    expect(faults).to.not.include('stale-epoch');
  });
});
