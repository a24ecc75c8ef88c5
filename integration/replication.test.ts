/**
 * Replicated state (issue 17): real ZooKeeper, replicated HaServers as child processes, the
 * client in the test process.
 */
import { expect } from 'chai';
import * as path from 'path';
import { spawnTracked } from './harness';
import { HaClient, RpcError } from '../lib';
import { isrPath, RpcConnection, servicePaths, ZkSession } from '../lib/blocks';
import { ServerSuite } from './support/server-suite';
import { dumpOf, duplicates, idWriter, keyOf, readIsr, startReplicated } from './support/replication-fixtures';
import type { IdWriter, ReplicatedSpec } from './support/replication-fixtures';
import { eventually, sleep, uniqueRoot, within } from './support/wait';
import type { Worker } from './support/worker';
import { workerReplicationSecret } from './workers/server-spec';
import { SECRET_META } from '../lib/ha/replication/sender-check';

const T = 1500; // servers' session timeout

describe('replicated state (real ZooKeeper, servers as processes)', function () {
  this.timeout(120000);
  const kit = new ServerSuite(T);
  const { workers, closers, loads: writers } = kit;

  async function start(spec: ReplicatedSpec): Promise<Worker> {
    const w = await startReplicated(spec);
    workers.push(w);
    return w;
  }

  async function group(n: number, replication: ReplicatedSpec['replication'] = {}) {
    const root = uniqueRoot('repl');
    const service = 'svc';
    const ws: Worker[] = [];
    for (let i = 0; i < n; i++) ws.push(await start({ connect: kit.connect, root, service, id: `s${i + 1}`, sessionTimeoutMs: T, replication: { ackTimeoutMs: 500, ...replication } }));
    await eventually('s1 serves', () => ws[0]!.of('elected').length > 0);
    return { root, service, ws };
  }

  const client = (root: string, service: string): Promise<HaClient> => kit.client(root, service);

  /** Writes unique ids with `concurrency` loops until stopped; records which were acknowledged. */
  function writer(c: HaClient, prefix: string, concurrency = 4): IdWriter {
    const w = idWriter(c, prefix, { concurrency, deadlineMs: 3000 });
    writers.push(w);
    return w;
  }

  const primaryOf = (ws: Worker[]): Worker | undefined => ws.find((w) => w.alive && w.of('elected').length > w.of('demoted').length);

  function checkDurable(state: string[], acked: string[], sent: string[]): void {
    expect(duplicates(state), 'ids applied twice').to.deep.equal([]);
    const have = new Set(state);
    expect(acked.filter((id) => !have.has(id)), 'acknowledged ids lost').to.deep.equal([]);
    const sentSet = new Set(sent);
    expect(state.filter((id) => !sentSet.has(id)), 'ids never sent').to.deep.equal([]);
  }

  it('acknowledged writes survive a SIGKILL of the primary, each exactly once; the members agree', async () => {
    const { root, service, ws } = await group(3);
    const c = await client(root, service);
    const w = writer(c, 'a');
    await eventually('some writes acknowledged', () => w.acked.length >= 200);
    const old = primaryOf(ws)!;
    old.signal('SIGKILL');
    await eventually('writes acknowledged by a new primary', () => {
      const p = primaryOf(ws);
      return p !== undefined && p !== old && w.acked.length > 400;
    }, 30000);
    await w.stop();
    const p = primaryOf(ws)!;
    const primaryState = await dumpOf(p);
    checkDurable(primaryState.ids, w.acked, w.sent);
    const other = ws.find((x) => x.alive && x !== p)!;
    // The backup holds the same prefix (it applies up to the commit index it has heard of).
    await eventually('the backup applied everything', async () => (await dumpOf(other)).ids.length === primaryState.ids.length);
    expect((await dumpOf(other)).ids).to.deep.equal(primaryState.ids);
  });

  it('a SIGSTOPped backup leaves the in-sync set and writes continue; after SIGCONT it catches up and rejoins', async () => {
    const { root, service, ws } = await group(3);
    const c = await client(root, service);
    await eventually('all three in sync', async () => (await readIsr(kit.connect, root, service))?.members.length === 3);
    const w = writer(c, 'b', 2);
    await eventually('writes', () => w.acked.length >= 50);
    const backup = ws[2]!;
    backup.signal('SIGSTOP');
    await eventually('the stopped backup left the set', async () => !(await readIsr(kit.connect, root, service))?.members.includes(keyOf(backup)), 20000);
    const before = w.acked.length;
    await eventually('writes continue without it', () => w.acked.length > before + 100, 20000);
    backup.signal('SIGCONT');
    await eventually('it rejoined the set', async () => (await readIsr(kit.connect, root, service))?.members.includes(keyOf(backup)) === true, 20000);
    await w.stop();
    const primary = await dumpOf(ws[0]!);
    checkDurable(primary.ids, w.acked, w.sent);
    await eventually('it holds what the primary holds', async () => (await dumpOf(backup)).ids.length === primary.ids.length);
    expect((await dumpOf(backup)).ids).to.deep.equal(primary.ids);
  });

  it('a member restarted from empty catches up by snapshot plus log tail and rejoins', async () => {
    const { root, service, ws } = await group(2, { retainEntries: 20, chunkBytes: 1024 });
    const c = await client(root, service);
    const w = writer(c, 'c', 2);
    await eventually('writes', () => w.acked.length >= 300);
    const b = ws[1]!;
    await b.kill();
    const after = w.acked.length;
    await eventually('writes continue alone', () => w.acked.length > after + 200, 20000);
    const b2 = await start({ connect: kit.connect, root, service, id: 's2', sessionTimeoutMs: T, replication: { ackTimeoutMs: 500, retainEntries: 20, chunkBytes: 1024 } });
    await eventually('the restarted member rejoined the set', async () => (await readIsr(kit.connect, root, service))?.members.includes(keyOf(b2)) === true, 30000);
    await w.stop();
    expect(b2.of('fault').some((f) => (f.detail as { what?: string }).what === 'snapshot-restored'), 'restored from a snapshot').to.equal(true);
    const primary = await dumpOf(ws[0]!);
    checkDurable(primary.ids, w.acked, w.sent);
    await eventually('same state', async () => (await dumpOf(b2)).ids.length === primary.ids.length);
    expect((await dumpOf(b2)).ids).to.deep.equal(primary.ids);
    // And it can take over with all of it.
    ws[0]!.signal('SIGKILL');
    await eventually('the restarted member serves', () => b2.of('elected').length > 0, 20000);
    checkDurable((await dumpOf(b2)).ids, w.acked, w.sent);
  });

  it('a backup refuses ops from an older epoch (FENCED)', async () => {
    const { root, service, ws } = await group(3);
    const c = await client(root, service);
    await c.call('add', { id: 'x1' });
    // A failover, so that an older epoch exists: s2 takes over from s1 (epoch = its sequence).
    ws[0]!.signal('SIGKILL');
    await eventually('a write on the new primary', () => c.call('add', { id: `x2-${Date.now()}` }).then(() => true, () => false), 20000);
    const backup = ws[2]!;
    const conn = new RpcConnection({ url: backup.of('started')[0]!.url as string, reconnect: false });
    closers.push(() => conn.close());
    await conn.connect();
    // Sent with the replication secret: this is an old primary, not an outsider (see replication-security.test.ts).
    const meta = { [SECRET_META]: workerReplicationSecret(service) };
    let status = { epoch: 0, generation: '' };
    await eventually('the backup has seen the new epoch', async () => {
      status = (await conn.call<{ epoch: number; generation: string }>('$repl.status', {}, { meta })).result;
      return status.epoch > 0;
    });
    const err = await conn.call('$repl.append', {
      epoch: status.epoch - 1, generation: status.generation, entries: [[99, status.epoch - 1, { add: 'forged' }]], commit: 99,
    }, { meta }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RpcError);
    expect((err as RpcError).code).to.equal('FENCED');
    await sleep(100);
    expect((await dumpOf(backup)).ids).to.not.include('forged');
  });

  it('the primary writes the in-sync set back when it is deleted or overwritten with garbage; a crash then promotes an in-sync member', async () => {
    const { root, service, ws } = await group(3);
    const c = await client(root, service);
    const w = writer(c, 'g');
    await eventually('some writes acknowledged', () => w.acked.length >= 100);
    const before = await readIsr(kit.connect, root, service);
    expect(before?.members.length).to.equal(3);
    const admin = new ZkSession({ connect: kit.connect });
    await admin.start();
    closers.push(() => admin.close());
    const isrNode = isrPath(servicePaths(service, root));
    const restoredCount = () => primaryOf(ws)!.of('fault').filter((f) => (f as { detail?: { what?: string } }).detail?.what === 'isr-restored').length;

    await admin.delete(isrNode);
    await eventually('the set is back after a delete', async () => (await readIsr(kit.connect, root, service))?.epoch === before!.epoch);
    await admin.set(isrNode, Buffer.from('{"epoch": "garbage"'));
    await eventually('the set is back after garbage', async () => (await readIsr(kit.connect, root, service).catch(() => undefined))?.epoch === before!.epoch);
    // The worker reports after ZooKeeper answered its write: the report may arrive after the test saw the node.
    await eventually('both restorations reported', () => restoredCount() >= 2);

    // The repaired set is authoritative: after a SIGKILL of the primary, an in-sync member takes over with every acknowledged write.
    const old = primaryOf(ws)!;
    const ackedBefore = w.acked.length;
    old.signal('SIGKILL');
    await eventually('a new primary acknowledges writes', () => {
      const p = primaryOf(ws);
      return p !== undefined && p !== old && w.acked.length > ackedBefore + 100;
    }, 30000);
    await w.stop();
    checkDurable((await dumpOf(primaryOf(ws)!)).ids, w.acked, w.sent);
  });

  it('with no in-sync member alive the service waits and reports it; `zk-ha isr force` is the override', async () => {
    const { root, service, ws } = await group(2);
    const c = await client(root, service);
    const [s1, s2] = ws as [Worker, Worker];
    await eventually('both in sync', async () => (await readIsr(kit.connect, root, service))?.members.length === 2);
    const w = writer(c, 'd', 2);
    await eventually('writes', () => w.acked.length >= 30);
    s2.signal('SIGSTOP');
    await eventually('s2 left the set', async () => (await readIsr(kit.connect, root, service))?.members.length === 1, 20000);
    const acked = w.acked.length;
    await eventually('writes without s2', () => w.acked.length > acked + 30, 20000);
    await w.stop();
    // The only in-sync member dies; the stale one comes back and must not serve.
    s1.signal('SIGKILL');
    s2.signal('SIGCONT');
    await eventually('s2 reports that no in-sync member serves', () => s2.of('fault').some((f) => f.kind === 'isr-unavailable'), 20000);
    expect(s2.of('elected').length, 'a member not in sync never takes the lease').to.equal(0);
    const refused = await c.call('add', { id: 'while-waiting' }, { deadlineMs: 1000 }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(RpcError);
    // The operator accepts the loss.
    const cli = path.join(__dirname, '..', 'bin', 'zk-ha.ts');
    const child = spawnTracked(process.execPath, ['-r', 'tsx/cjs', cli, '--connect', kit.connect, '--root', root, 'isr', 'force', service, 's2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = await within(30000, 'zk-ha isr force', new Promise<number | null>((resolve) => child.once('close', resolve)));
    expect(code).to.equal(0);
    await eventually('s2 serves after the override', () => c.call('add', { id: 'after-force' }, { deadlineMs: 1000 }).then(() => true, () => false), 20000);
    const isr = await readIsr(kit.connect, root, service);
    expect(isr!.members).to.deep.equal([keyOf(s2)]);
  });
});
