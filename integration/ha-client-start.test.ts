import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { HaClient, HaServer } from '../lib';
import type { FaultReport } from '../lib';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { sleep, uniqueRoot } from './support/wait';

// A client may start before any server has created the service: start() waits for the service
// node. Found by a red-team run (session 10): a misspelt service waited for ever in silence, and
// every second of the wait added one more exists-watch listener (MaxListenersExceededWarning ~10 s in).
describe('HaClient.start() before the service exists', function () {
  this.timeout(60_000);
  let connect: string;
  before(async () => { connect = (await sharedZooKeeper()).connectString; });

  it('waits with one watch (no listener growth), reports service-missing once, and starts when a server creates the service', async () => {
    const root = uniqueRoot('client-start');
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(`${w.name}: ${w.message}`); };
    process.on('warning', onWarning);
    const client = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'late', root, deadlineMs: 2000 });
    const faults: FaultReport[] = [];
    client.on('fault', (f) => faults.push(f));
    let server: HaServer | undefined;
    try {
      let started = false;
      const starting = client.start().then(() => { started = true; });
      await sleep(12_500);
      expect(started, 'still waiting for the service').to.equal(false);
      expect(warnings.filter((w) => w.includes('MaxListeners')), 'no listener growth over 12 s of waiting').to.deep.equal([]);
      expect(faults.filter((f) => f.kind === 'service-missing').length, 'reported once').to.equal(1);
      server = new HaServer({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'late', root, mode: 'primary-backup', http: false, handlers: { ping: () => 'pong' } });
      await server.start();
      await starting;
      expect(await client.call('ping')).to.equal('pong');
    } finally {
      process.off('warning', onWarning);
      await client.close();
      await server?.close({ graceMs: 100 });
    }
  });

  it('close() ends a start() that waits for the service at once, with UNAVAILABLE', async () => {
    const client = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'never', root: uniqueRoot('client-start-close'), deadlineMs: 2000 });
    const outcome = client.start().then(() => 'started', (e: { code?: string }) => e.code ?? String(e));
    await sleep(300);
    const t0 = performance.now();
    await client.close();
    expect(await outcome).to.equal('UNAVAILABLE');
    expect(performance.now() - t0, 'not after the next 1 s poll').to.be.below(500);
  });

  it('a mode given in the options that is not the service\'s fails start() with MODE_MISMATCH and leaves nothing running', async () => {
    const root = uniqueRoot('client-mode');
    const server = new HaServer({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'pb', root, mode: 'primary-backup', http: false, handlers: { ping: () => 'pong' } });
    await server.start();
    try {
      const wrong = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'pb', root, mode: 'redundant', deadlineMs: 2000 });
      const outcome = await wrong.start().then(() => 'started', (e: { code?: string }) => e.code ?? String(e));
      expect(outcome).to.equal('MODE_MISMATCH');
      const failed = await wrong.call('ping').then(() => 'answered', (e: { code?: string }) => e.code ?? String(e));
      expect(failed, 'closed').to.equal('UNAVAILABLE');
      const right = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'pb', root, mode: 'primary-backup', deadlineMs: 2000 });
      await right.start();
      expect(await right.call('ping')).to.equal('pong');
      await right.close();
    } finally {
      await server.close({ graceMs: 100 });
    }
  });
});
