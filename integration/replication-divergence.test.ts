/**
 * Found by a red-team run (session 10): a member that had fallen behind becomes primary (an
 * operator's `zk-ha isr force`) while another live member had applied more under the old primary.
 * The new primary took that member's applied index as proof it held the same entries, added it to
 * the in-sync set at once, and the member skipped every later entry at an index it already had: the
 * two held different ops at the same indexes, and writes acknowledged after the override were lost at
 * the next failover. Now an entry carries its primary's reign, a backup takes a batch only after the
 * very entry the primary names, and a backup of another history gets a snapshot.
 */
import { expect } from 'chai';
import { HaClient } from '../lib';
import { forceInSync, servicePaths, ZkSession } from '../lib/blocks';
import { startZooKeeper, type ZkCluster } from './harness';
import { dumpOf, duplicates, idWriter, keyOf, readIsr, startReplicated } from './support/replication-fixtures';
import type { IdWriter } from './support/replication-fixtures';
import { eventually, sleep, uniqueRoot } from './support/wait';
import type { Worker } from './support/worker';

const T = 1500;

describe('replicated state: a stale member forced primary, a member of another history behind it', function () {
  this.timeout(180_000);
  let zk: ZkCluster;
  const workers: Worker[] = [];
  const writers: IdWriter[] = [];
  let client: HaClient | undefined;

  before(async () => { zk = await startZooKeeper({ nodes: 1 }); });
  after(async () => {
    await Promise.all(writers.map((w) => w.stop().catch(() => undefined)));
    await client?.close().catch(() => undefined);
    await Promise.all(workers.map((w) => w.kill()));
    await zk?.close();
  });

  const primaryOf = (): Worker | undefined => workers.find((w) => w.alive && w.of('elected').length > w.of('demoted').length);

  it('the member ahead is brought to the new primary\'s history by a snapshot; no write acknowledged after the override is lost', async () => {
    const root = uniqueRoot('diverge');
    const service = 'svc';
    const isr = (): ReturnType<typeof readIsr> => readIsr(zk.connectString, root, service);
    const start = async (id: string): Promise<Worker> => {
      const w = await startReplicated({ connect: zk.connectString, root, service, id, sessionTimeoutMs: T, replication: { ackTimeoutMs: 500 } });
      workers.push(w);
      return w;
    };
    const s1 = await start('s1');
    await eventually('s1 elected', () => s1.of('elected').length > 0);
    const s2 = await start('s2');
    const s3 = await start('s3');
    await eventually('3 in sync', async () => (await isr())?.members.length === 3, 20_000);
    client = new HaClient({
      zk: { connect: zk.connectString, sessionTimeoutMs: 4000 }, service, root, deadlineMs: 4 * T,
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 20, maxMs: 200 } },
    });
    await client.start();
    const a = idWriter(client, 'a', { concurrency: 2, deadlineMs: 3000 });
    writers.push(a);
    await eventually('a writes', () => a.acked.length >= 50, 20_000);
    // s2 falls behind and out of the set; then s3, later: s3 has applied more than s2.
    s2.signal('SIGSTOP');
    await eventually('s2 out of the set', async () => !(await isr())!.members.includes(keyOf(s2)), 20_000);
    let n = a.acked.length;
    await eventually('more a writes', () => a.acked.length >= n + 60, 20_000);
    s3.signal('SIGSTOP');
    await eventually('s3 out of the set', async () => !(await isr())!.members.includes(keyOf(s3)), 20_000);
    n = a.acked.length;
    await eventually('more a writes', () => a.acked.length >= n + 60, 20_000);
    await a.stop();
    s1.signal('SIGKILL');
    await s1.exit;
    s2.signal('SIGCONT');
    s3.signal('SIGCONT');
    await sleep(2 * T);
    expect((await dumpOf(s3)).appliedIndex, 's3 applied more than s2').to.be.above((await dumpOf(s2)).appliedIndex);
    // The operator forces the stale member (acknowledged writes it lacks are lost: documented).
    const session = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 });
    await session.start();
    await forceInSync(session, servicePaths(service, root), 's2');
    await session.close();
    await eventually('s2 primary', () => primaryOf() === s2, 30_000);
    const b = idWriter(client, 'b', { concurrency: 2, deadlineMs: 3000 });
    writers.push(b);
    await eventually('b writes', () => b.acked.length >= 150, 30_000);
    await eventually('s3 back in the set', async () => (await isr())!.members.includes(keyOf(s3)), 30_000);
    await b.stop();
    await sleep(500);
    const p2 = await dumpOf(s2);
    const p3 = await dumpOf(s3);
    expect(p3.ids.slice(0, p2.ids.length), 'the in-sync s3 holds exactly the primary\'s history').to.deep.equal(p2.ids.slice(0, p3.ids.length));
    s2.signal('SIGKILL');
    await s2.exit;
    await eventually('s3 primary', () => primaryOf() === s3, 30_000);
    const f = await dumpOf(s3);
    const held = new Set(f.ids);
    expect(b.acked.filter((id) => !held.has(id)), 'writes acknowledged after the override, lost').to.deep.equal([]);
    expect(duplicates(f.ids)).to.deep.equal([]);
  });
});
