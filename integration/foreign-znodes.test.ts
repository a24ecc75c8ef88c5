/**
 * Nodes in the service tree that no member of ours wrote, against a real ZooKeeper: a persistent
 * node with children heading the line, a node squatting on the successor's lease path, a member
 * node whose ACL denies READ, leases/ deleted under a serving primary, and re-read loops that must
 * not pile up watch callbacks. Each one used to stall the election for good (or spin), hang
 * start(), or leave the service without a primary (session 8's attack findings).
 */
import { expect } from 'chai';
import { HaClient } from '../lib';
import { ensureService, leaseNodeName, MembershipView, servicePaths } from '../lib/coordination';
import { acl } from '../lib/zk';
import type { ZkSession } from '../lib/zk';
import { Candidates, type Candidate } from './support/candidates';
import { Sessions } from './support/sessions';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot, within } from './support/wait';

const LEASE_MS = 300;

describe('foreign and hostile znodes in the service tree (real ZooKeeper)', function () {
  this.timeout(60000);
  let connect: string;
  const sessions = new Sessions(() => ({ connect, sessionTimeoutMs: 6000 }));
  const candidates = new Candidates(sessions);
  const closers: (() => Promise<unknown> | void)[] = [];

  before(async () => { connect = (await sharedZooKeeper()).connectString; });
  afterEach(async () => {
    candidates.stopAll();
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
    await sessions.closeAll();
  });

  const open = (sessionTimeoutMs = 6000): Promise<ZkSession> => sessions.open({ connect, sessionTimeoutMs });
  const candidate = (root: string, id: string): Promise<Candidate> => candidates.start(root, id, { connect, leaseMs: LEASE_MS });
  const record = (id: string): string => JSON.stringify({ id, url: 'ws://127.0.0.1:1', weight: 1, pid: 1, host: 'elsewhere', startedAt: 1, version: '0' });
  const leaders = (...cs: Candidate[]): string[] => cs.filter((c) => c.election.isLeader()).map((c) => c.id);

  async function view(root: string): Promise<MembershipView> {
    const v = new MembershipView(await open(), 'svc', { root });
    v.on('error', () => undefined);
    closers.push(() => v.stop());
    await v.start();
    return v;
  }

  for (const kind of ['garbage', 'a valid-looking record'] as const) {
    it(`a persistent node with a child node heads the line (${kind}): it is removed with its child, a member leads, nothing spins`, async () => {
      const root = uniqueRoot('head-child');
      const paths = servicePaths('svc', root);
      const admin = await open();
      await ensureService(admin, paths, 'primary-backup');
      const head = await admin.create(`${paths.members}/m-`, kind === 'garbage' ? 'garbage' : record('ghost'), { mode: 'persistent-sequential' });
      await admin.create(`${head}/child`, 'x');
      await admin.create(`${head}/child/grandchild`, 'x');
      const a = await candidate(root, 'a');
      const b = await candidate(root, 'b');
      const invalid: string[] = [];
      a.election.on('invalid', (i) => invalid.push(`${i.path} ${i.error.message}`));
      await eventually('a leads', () => a.election.isLeader(), 10000);
      expect(await admin.exists(head), 'the foreign head is gone').to.equal(null);
      expect(invalid.some((m) => m.includes('child node')), `reported: ${invalid.join('; ')}`).to.equal(true);
      // Before the fix a refused takeover was re-sent at once, thousands of times a second.
      await sleep(1000);
      expect(a.election.stats.evaluations + b.election.stats.evaluations, 'election rounds').to.be.below(100);
      expect(leaders(a, b)).to.deep.equal(['a']);
    });
  }

  it('a foreign node on the successor\'s lease path does not block its takeover of a head that never serves (long before any session expires)', async () => {
    const root = uniqueRoot('lease-squatter');
    const paths = servicePaths('svc', root);
    const admin = await open();
    await ensureService(admin, paths, 'primary-backup');
    // A live foreign session heads the line with a valid record but never creates a lease node;
    // its session outlives the test, so only a takeover can remove it.
    const ghost = await open(30000);
    const ghostNode = await ghost.create(`${paths.members}/m-`, record('ghost'), { mode: 'ephemeral-sequential' });
    const b = await candidate(root, 'b');
    const own = b.membership.node!;
    const squatter = `${paths.leases}/${leaseNodeName(own.name, own.sessionId)}`;
    await admin.create(squatter, 'not yours');
    await admin.create(`${squatter}/child`, 'with a child, so that a plain delete is refused');
    await eventually('b leads', () => b.election.isLeader(), 10000);
    expect(await ghost.exists(ghostNode), 'the idle head was removed').to.equal(null);
    expect(b.takeovers.map((t) => t.reason)).to.deep.equal(['never-served']);
    const lease = await admin.exists(squatter);
    expect(lease?.ephemeralOwner, 'b\'s own lease node replaced the squatter').to.equal(own.sessionId);
    expect(b.election.stats.evaluations, 'election rounds (no spin)').to.be.below(60);
  });

  it('leases/ deleted under a serving primary: the primary stops, leases/ is created again and one member leads', async () => {
    const root = uniqueRoot('leases-deleted');
    const paths = servicePaths('svc', root);
    const a = await candidate(root, 'a');
    await eventually('a leads', () => a.election.isLeader());
    const b = await candidate(root, 'b');
    const v = await view(root);
    await eventually('the view routes to a', () => v.snapshot.primary?.record.id === 'a');
    const admin = await open();
    await eventually('leases/ deleted', () => admin.deleteRecursive(paths.leases).then(() => true, () => false));
    await eventually('a stops: its renewal is refused', () => a.log.includes('demoted:lease-lost'));
    await eventually('someone leads again', () => leaders(a, b).length === 1, 10000);
    expect(await admin.exists(paths.leases), 'leases/ exists again').to.not.equal(null);
    await eventually('the view routes to the leader', () => v.snapshot.primary?.record.id === leaders(a, b)[0], 10000);
    expect(leaders(a, b)).to.have.length(1);
  });

  it('a member node whose ACL denies READ: views and clients start and skip it (reported, NO_AUTH); at the head of the line it is removed and a member leads', async () => {
    const root = uniqueRoot('unreadable');
    const paths = servicePaths('svc', root);
    const admin = await open();
    await ensureService(admin, paths, 'primary-backup');
    const secret = [acl.digest('someone-else', 'secret', ['all'])];
    const head = await admin.create(`${paths.members}/m-`, record('hidden'), { mode: 'persistent-sequential', acl: secret });
    expect(await admin.get(head).then(() => 'read', (e: { code?: string }) => e.code)).to.equal('NO_AUTH');
    // A bare view: its start() used to retry the failing read for ever.
    const v = new MembershipView(await open(), 'svc', { root });
    closers.push(() => v.stop());
    const invalid: { path: string; cause: unknown }[] = [];
    v.on('invalid', (i) => invalid.push({ path: i.path, cause: i.error.details?.cause }));
    v.on('error', () => undefined);
    const first = await within(5000, 'view start()', v.start());
    expect(first.members).to.have.length(0);
    expect(invalid).to.deep.equal([{ path: head, cause: 'NO_AUTH' }]);
    // An HaClient starts too.
    const c = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'svc', root, deadlineMs: 1000 });
    closers.push(() => c.close());
    const faults: string[] = [];
    c.on('fault', (f) => faults.push(f.kind));
    await within(5000, 'HaClient start()', c.start());
    expect(faults).to.include('rejected-input');
    // Candidates: the unreadable head never serves and is removed; a leads.
    const a = await candidate(root, 'a');
    const b = await candidate(root, 'b');
    await eventually('a leads', () => a.election.isLeader(), 10000);
    expect(await admin.exists(head), 'the unreadable head was removed').to.equal(null);
    await eventually('the view routes to a', () => v.snapshot.primary?.record.id === 'a');
    expect(leaders(a, b)).to.deep.equal(['a']);
  });

  it('a node read again and again with one watch function holds one watch callback, not one per read', async () => {
    const root = uniqueRoot('watch-pile');
    const s = await open();
    const path = `${root}/node`;
    await s.mkdirp(path);
    let fired = 0;
    const watch = (): void => { fired++; };
    for (let i = 0; i < 200; i++) {
      await s.get(path, { watch });
      await s.exists(path, { watch });
    }
    // node-zookeeper-client's registry of data watchers for the path (internal, read for this check).
    const registry = (s as unknown as { client: { connectionManager: { watcherManager: { dataWatchers: Record<string, { listenerCount(e: string): number }> } } } })
      .client.connectionManager.watcherManager.dataWatchers;
    expect(registry[path]?.listenerCount('notification'), 'callbacks registered on the path').to.equal(1);
    await s.set(path, 'changed');
    await eventually('the watch fired', () => fired > 0);
    await sleep(100);
    expect(fired, 'one notification, one call').to.equal(1);
  });
});
