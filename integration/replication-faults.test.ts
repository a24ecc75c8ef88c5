/**
 * Replicated state under faults the chaos suite does not inject (session 8's attack findings), with
 * in-process servers against a real ZooKeeper: the in-sync set's write whose answer is lost, a
 * resigning primary's ops overwritten by its successor, a backup whose missing tail is larger than
 * one frame, and an in-sync set written by hand with another epoch.
 */
import { expect } from 'chai';
import { HaClient, HaServer } from '../lib';
import type { HaCallContext, ReplicatedState } from '../lib';
import { forceInSync, servicePaths, ZkSession } from '../lib/blocks';
import { decodeIsr, InSyncSet, isrPath } from '../lib/coordination/in-sync-set';
import type { IsrRecord, VersionedIsr } from '../lib/coordination/in-sync-set';
import { ZkError } from '../lib/zk';
import { idWriter, type IdWriter } from './support/replication-fixtures';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot } from './support/wait';

const SECRET = 'replication-faults-secret-0123456789';

class Ids implements ReplicatedState<{ add: string; pad?: string }, { ids: string[] }> {
  ids: string[] = [];
  apply(op: { add: string }): number {
    this.ids.push(op.add);
    return this.ids.length;
  }
  snapshot(): { ids: string[] } {
    return { ids: this.ids.slice() };
  }
  restore(s: { ids: string[] }): void {
    this.ids = s.ids.slice();
  }
}

interface Member { server: HaServer; state: Ids; resolved: string[] }

describe('replicated state under faults (real ZooKeeper)', function () {
  this.timeout(90000);
  let connect: string;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => { connect = (await sharedZooKeeper()).connectString; });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  });

  function member(root: string, id: string, extra: Record<string, unknown> = {}): Member {
    const state = new Ids();
    const resolved: string[] = [];
    const server = new HaServer({
      zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', root, id, mode: 'primary-backup', http: false, state,
      replication: { secret: SECRET, ackTimeoutMs: 500 },
      handlers: {
        add: async (p: { id: string; pad?: string }, ctx: HaCallContext) => {
          const n = await ctx.replicate<number>({ add: p.id, pad: p.pad });
          resolved.push(p.id);
          return { n };
        },
      },
      ...extra,
    });
    server.on('fault', () => undefined);
    closers.push(() => server.close({ graceMs: 100 }));
    return { server, state, resolved };
  }

  async function client(root: string): Promise<HaClient> {
    const c = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', root, deadlineMs: 5000 });
    closers.push(() => c.close());
    await c.start();
    return c;
  }

  const writer = (c: HaClient, prefix: string, concurrency: number, pad?: string): IdWriter => idWriter(c, prefix, { concurrency, pad });

  async function readIsr(root: string): Promise<IsrRecord | undefined> {
    const s = new ZkSession({ connect, sessionTimeoutMs: 4000 });
    await s.start();
    try {
      const p = isrPath(servicePaths('svc', root));
      return (await s.exists(p)) ? decodeIsr((await s.get(p)).data, p) : undefined;
    } finally {
      await s.close();
    }
  }

  it('the write that adds a backup to the in-sync set lands but its answer is lost: the primary reads it back and keeps counting the backup (never acks without a member ZooKeeper names in sync)', async () => {
    const root = uniqueRoot('isr-lost-answer');
    const s1 = member(root, 's1');
    await s1.server.start();
    await eventually('s1 primary', () => s1.server.isPrimary() && s1.server.replication!.ready === true);
    const c = await client(root);
    const w0 = writer(c, 'a', 2);
    await eventually('writes', () => w0.acked.length > 50);
    await w0.stop();
    // The next write of the set naming s2 reaches ZooKeeper; its answer is "lost" (CONNECTION_LOSS).
    const write = InSyncSet.prototype.write;
    let lost = 0;
    InSyncSet.prototype.write = async function (this: InSyncSet, next: IsrRecord, expected: VersionedIsr | undefined): Promise<VersionedIsr> {
      const written = await write.call(this, next, expected);
      if (lost === 0 && next.members.some((m) => m.startsWith('s2@'))) {
        lost++;
        throw new ZkError('CONNECTION_LOSS', 'answer lost (test)');
      }
      return written;
    };
    closers.push(async () => { InSyncSet.prototype.write = write; });
    try {
      const s2 = member(root, 's2');
      await s2.server.start();
      await eventually('ZooKeeper names s2 in sync', async () => (await readIsr(root))?.members.some((m) => m.startsWith('s2@')) === true);
      expect(lost, 'the answer was lost once').to.equal(1);
      // The primary's own copy names s2 too: its commits wait for s2 (before: they did not, and a
      // stalled s2 — still named in sync — could be promoted without the writes acknowledged meanwhile).
      await eventually('the primary counts s2', () => s1.server.replication!.status().isr.some((m) => m.startsWith('s2@')), 5000);
      const w = writer(c, 'b', 2);
      await eventually('writes go on', () => w.acked.length > 50);
      await w.stop();
      const acked = [...w0.acked, ...w.acked];
      await eventually('s2 holds every acknowledged write', () => acked.every((id) => s2.state.ids.includes(id)), 10000);
    } finally {
      InSyncSet.prototype.write = write;
    }
  });

  it('a resigning primary whose ops never reached the backup: its ctx.replicate() fails for the ops the successor overwrote, it never resolves them', async () => {
    const root = uniqueRoot('handover-overwritten');
    const extra = { graceMs: 50, leaseMs: 1500 };
    const s1 = member(root, 's1', extra);
    const s2 = member(root, 's2', extra);
    await s1.server.start();
    await eventually('s1 primary', () => s1.server.isPrimary() && s1.server.replication!.ready === true);
    await s2.server.start();
    await eventually('both in sync', async () => (await readIsr(root))?.members.length === 2);
    const c = await client(root);
    const w = writer(c, 'a', 2);
    await eventually('writes', () => w.acked.length > 200);
    // From now on s1's appends to s2 arrive 3 s late (a slow link one way).
    const primary = (s1.server.replication as unknown as { primary: { peers: Map<string, { conn: { call: (...a: unknown[]) => Promise<unknown> } }> } }).primary;
    for (const peer of primary.peers.values()) {
      const call = peer.conn.call.bind(peer.conn);
      peer.conn.call = async (method: unknown, ...rest: unknown[]) => {
        if (method === '$repl.append') await sleep(3000);
        return call(method, ...rest);
      };
    }
    await sleep(30);
    const stepping = s1.server.stepDown();
    await eventually('s2 serves', () => s2.server.isPrimary() && s2.server.replication!.ready === true, 15000);
    const w2 = writer(c, 'b', 2);
    await stepping.catch(() => undefined);
    await sleep(3500);
    await w.stop();
    await w2.stop();
    const everywhere = new Set([...s1.state.ids, ...s2.state.ids]);
    expect(s1.resolved.filter((id) => !everywhere.has(id)), 'resolved on s1 but in no member\'s state').to.deep.equal([]);
    const acked = [...w.acked, ...w2.acked];
    expect(acked.filter((id) => !s2.state.ids.includes(id)), 'acknowledged but lost').to.deep.equal([]);
  });

  it('a backup whose missing tail is larger than one frame catches up (batches halve until they fit)', async () => {
    const root = uniqueRoot('big-tail');
    const s1 = member(root, 's1');
    await s1.server.start();
    await eventually('s1 primary', () => s1.server.isPrimary() && s1.server.replication!.ready === true);
    const c = await client(root);
    const w = writer(c, 'a', 1, 'x'.repeat(200 * 1024));
    await eventually('30 ops of 200 KiB (6 MB, more than a 4 MiB frame)', () => w.acked.length >= 30, 30000);
    await w.stop();
    const s2 = member(root, 's2');
    await s2.server.start();
    await eventually('s2 in sync', async () => (await readIsr(root))?.members.includes(s2.server.replication!.key) === true, 20000);
    expect(s2.state.ids).to.deep.equal(s1.state.ids);
  });

  it('an in-sync set written by hand with a higher epoch: the fenced primary hands its lease on and writes resume', async () => {
    const root = uniqueRoot('isr-epoch-edit');
    const s1 = member(root, 's1');
    const s2 = member(root, 's2');
    await s1.server.start();
    await eventually('s1 primary', () => s1.server.isPrimary() && s1.server.replication!.ready === true);
    await s2.server.start();
    const c = await client(root);
    const w = writer(c, 'a', 2);
    await eventually('both in sync', async () => (await readIsr(root))?.members.length === 2);
    const isr = (await readIsr(root))!;
    const admin = new ZkSession({ connect, sessionTimeoutMs: 4000 });
    await admin.start();
    closers.push(() => admin.close());
    await admin.set(isrPath(servicePaths('svc', root)), Buffer.from(JSON.stringify({ ...isr, epoch: isr.epoch + 3 })), -1);
    // A set change makes the primary read the foreign epoch.
    const s3 = member(root, 's3');
    await s3.server.start();
    await sleep(1500);
    const mid = w.acked.length;
    await eventually('writes resume (before: none for good, the primary kept its lease)', () => w.acked.length > mid + 100, 30000);
    await w.stop();
  });
  it('`isr force` refuses what would only do harm: an id no member has, a service whose primary serves, a service with no set', async () => {
    const root = uniqueRoot('isr-force-refusals');
    const paths = servicePaths('svc', root);
    const admin = new ZkSession({ connect, sessionTimeoutMs: 4000 });
    await admin.start();
    closers.push(() => admin.close());
    const s1 = member(root, 's1');
    await s1.server.start();
    await eventually('s1 primary', () => s1.server.isPrimary() && s1.server.replication!.ready === true);
    const s2 = member(root, 's2');
    await s2.server.start();
    await eventually('s2 in sync', async () => (await readIsr(root))?.members.length === 2);
    const before = await readIsr(root);
    const refusal = (p: Promise<unknown>): Promise<string> => p.then(() => 'forced', (e: { code?: string }) => e.code ?? String(e));
    expect(await refusal(forceInSync(admin, paths, 's9')), 'a typo').to.equal('ISR_NOT_A_MEMBER');
    expect(await refusal(forceInSync(admin, paths, 's2')), 'a healthy service').to.equal('ISR_PRIMARY_SERVES');
    expect(await readIsr(root), 'the set untouched').to.deep.equal(before);
    // A primary-backup service without replicated state has no set: nothing to force.
    const plainRoot = uniqueRoot('isr-force-plain');
    const plain = new HaServer({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', root: plainRoot, id: 'p1', mode: 'primary-backup', http: false, handlers: {} });
    closers.push(() => plain.close({ graceMs: 100 }));
    await plain.start();
    await plain.stepDown().catch(() => undefined);
    expect(await refusal(forceInSync(admin, servicePaths('svc', plainRoot), 'p1', { evenIfPrimaryServes: true }))).to.equal('ISR_ABSENT');
    expect(await admin.exists(isrPath(servicePaths('svc', plainRoot))), 'no set written').to.equal(null);
  });
});
