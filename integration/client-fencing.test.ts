/**
 * Fencing that cannot be poisoned (issue 14.5), against real ZooKeeper and server processes: the
 * client raises its fence only from the primary its own view acknowledges.
 */
import { expect } from 'chai';
import { HaClient, HaServer } from '../lib';
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

  /** A started client with short reconnects, closed after the test; the kinds of the faults it reports. */
  async function startClient(root: string): Promise<{ c: HaClient; faults: string[] }> {
    const c = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', root, deadlineMs: 3000,
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 20, maxMs: 200 } } });
    closers.push(() => c.close());
    await c.start();
    const faults: string[] = [];
    c.on('fault', (f) => faults.push(f.kind));
    return { c, faults };
  }

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
    // The primary writes its own record back at once ('record-restored'), so keep overwriting for a
    // second to hold it unreadable.
    let overwriting = true;
    const vandal = (async () => {
      while (overwriting) {
        await admin.set(primary.path, Buffer.from('not json {')).catch(() => undefined);
        await sleep(5);
      }
    })();
    await eventually('the view rejected the record', () => faults.includes('rejected-input'));
    const during = await Promise.allSettled([1, 2, 3].map(() => c.call('whoami', {}, { deadlineMs: 300 })));
    await sleep(1000);
    overwriting = false;
    await vandal;

    // From here on every call succeeds again: none is refused as FENCED.
    await eventually('calls succeed again', async () => (await c.callWithInfo('whoami').then(() => true, () => false)));
    const after = [];
    for (let i = 0; i < 50; i++) after.push(await c.callWithInfo('incr'));
    expect(after.every((r) => r.epoch !== undefined && r.epoch >= c.epoch)).to.equal(true);
    expect(faults).to.not.include('stale-epoch');
    expect(during.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).to.not.include('FENCED');
  });

  it("a live primary whose record is overwritten writes it back and is routed to again (no restart)", async () => {
    const root = uniqueRoot('record-restored');
    const server = new HaServer({ zk: { connect, sessionTimeoutMs: T }, service: 'svc', mode: 'primary-backup', root, id: 'p1',
      handlers: { whoami: () => ({ id: 'p1' }) } });
    const restored: unknown[] = [];
    server.on('fault', (f) => { if (f.kind === 'record-restored') restored.push(f.detail); });
    closers.push(() => server.close());
    await server.start();
    const c = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', root, deadlineMs: 2000 });
    closers.push(() => c.close());
    await c.start();
    await c.call('whoami');
    const path = c.view.snapshot.members[0]!.path;
    const admin = new ZkSession({ connect });
    await admin.start();
    closers.push(() => admin.close());
    const original = (await admin.get(path)).data;
    await admin.set(path, Buffer.from('{"id":"p1","url":"ws://127.0.0.1:1"}'));
    await eventually('the record is restored', async () => (await admin.get(path)).data.equals(original));
    await eventually('the restoration reported', () => restored.length > 0);
    await eventually('calls reach the primary', async () => (await c.call<{ id: string }>('whoami', {}, { idempotent: true }).then((r) => r.id, () => '')) === 'p1');
    expect(c.view.snapshot.primary?.path).to.equal(path);
  });

  it('members/ deleted and created again under the same service node (sequences restart): a new generation, answers are accepted again', async () => {
    const root = uniqueRoot('fence-members');
    for (const id of ['s1', 's2', 's3']) workers.push(await startServer({ connect, root, service: 'svc', mode: 'primary-backup', id, sessionTimeoutMs: T }));
    const { c, faults } = await startClient(root);
    // Two deaths: the third server (sequence 2) serves and the client's fence is 2.
    await workers[0]!.kill();
    await eventually('s2 serves', async () => (await c.callWithInfo<{ id: string }>('whoami', {}, { idempotent: true })).result.id === 's2', 30000);
    await workers[1]!.kill();
    await eventually('s3 serves', async () => (await c.callWithInfo<{ id: string }>('whoami', {}, { idempotent: true })).result.id === 's3', 30000);
    const oldFence = c.epoch;
    expect(oldFence).to.equal(2);
    const oldGeneration = c.view.snapshot.generation;

    // Only members/ goes (the service node stays): s3 creates it again and registers at sequence 0.
    const admin = new ZkSession({ connect });
    await admin.start();
    closers.push(() => admin.close());
    await eventually('members/ deleted', () => admin.deleteRecursive(`${root}/svc/members`).then(() => true, () => false));
    await eventually('a new generation with a primary', () =>
      c.view.snapshot.generation !== oldGeneration && c.view.snapshot.primary !== undefined, 30000);
    await eventually('calls succeed again', async () => (await c.callWithInfo('whoami').then(() => true, () => false)), 30000);
    const after = [];
    for (let i = 0; i < 20; i++) after.push(await c.callWithInfo('incr'));
    expect(faults).to.include('generation-changed');
    expect(c.epoch, 'the fence restarted in the new generation').to.equal(0);
    expect(after.every((r) => r.epoch === 0)).to.equal(true);
    expect(faults).to.not.include('stale-epoch');
  });

  it('the service node recreated (a new generation, sequences restart): answers are accepted again', async () => {
    const root = uniqueRoot('fence-generation');
    const s1 = await startServer({ connect, root, service: 'svc', mode: 'primary-backup', id: 's1', sessionTimeoutMs: T });
    workers.push(s1);
    const s2 = await startServer({ connect, root, service: 'svc', mode: 'primary-backup', id: 's2', sessionTimeoutMs: T });
    workers.push(s2);
    const { c, faults } = await startClient(root);
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
