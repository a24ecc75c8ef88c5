/**
 * Redundant mode, passive health at its edges (found by a red-team pass): the last member left
 * after the others go is routed to even while ejected (it was a full outage until its ejection
 * ended), and an ejection that ends with no traffic leaves no timer spinning.
 */
import { expect } from 'chai';
import { monotonicMs } from '../lib/base/clock';
import { HaClient, HaServer, RpcError } from '../lib';
import type { HaHandler } from '../lib';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { sleep, uniqueRoot } from './support/wait';

describe('redundant mode: health at the edges (real ZooKeeper)', function () {
  this.timeout(60000);
  const open: { close(): Promise<unknown> }[] = [];
  afterEach(async () => { for (const o of open.splice(0).reverse()) await o.close(); });

  async function group(root: string, handlers: Record<string, Record<string, HaHandler>>, clientHealth: { baseEjectionMs: number }): Promise<{ servers: Map<string, HaServer>; client: HaClient }> {
    const { connectString: connect } = await sharedZooKeeper();
    const servers = new Map<string, HaServer>();
    for (const [id, h] of Object.entries(handlers)) {
      const s = new HaServer({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', mode: 'redundant', root, id, handlers: h, journal: false, http: false });
      await s.start();
      open.push(s);
      servers.set(id, s);
    }
    const client = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', root, mode: 'redundant', balancer: 'round-robin', deadlineMs: 1000, health: clientHealth,
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 20, maxMs: 200 } } });
    await client.start();
    open.push(client);
    return { servers, client };
  }

  it('the only member left is ejected: calls still reach it at once (they failed for the whole ejection), said once', async () => {
    let aBroken = true;
    const { servers, client } = await group(uniqueRoot('red-last'), {
      a: { m: () => { if (aBroken) throw new RpcError('UNAVAILABLE', 'a broken'); return 'a'; } },
      b: { m: () => 'b' },
    }, { baseEjectionMs: 8000 });
    const faults: string[] = [];
    client.on('fault', (f) => faults.push(`${f.kind}${f.detail?.panic ? ' panic' : ''}`));
    for (let i = 0; i < 20; i++) await client.call('m').catch(() => undefined);
    expect(faults).to.include('endpoint-ejected'); // a, 1 of 2 allowed
    aBroken = false;
    await servers.get('b')!.close(); // a rolling restart takes b away
    await sleep(300);
    const t0 = monotonicMs();
    let failed = 0;
    while (monotonicMs() - t0 < 1500) await client.call('m').catch(() => { failed++; });
    expect(failed).to.be.at.most(2);
    expect(faults.filter((f) => f === 'endpoint-ejected panic')).to.have.length(1);
  });

  it('an ejection that ends with no traffic leaves no timer spinning (the pool rebuilt ~500 times a second)', async () => {
    const { client } = await group(uniqueRoot('red-spin'), {
      a: { bad: () => { throw new RpcError('UNAVAILABLE', 'a broken'); } },
      b: { bad: () => 'b' },
      c: { bad: () => 'c' },
    }, { baseEjectionMs: 200 });
    for (let i = 0; i < 30; i++) await client.call('bad').catch(() => undefined);
    await sleep(500); // the ejection is over: a is probing, and nothing calls
    const pool = (client as unknown as { pool: { rebuild(): void } }).pool;
    const rebuild = pool.rebuild.bind(pool);
    let rebuilds = 0;
    pool.rebuild = () => { rebuilds++; rebuild(); };
    await sleep(1000);
    expect(rebuilds).to.be.at.most(5);
  });
});
