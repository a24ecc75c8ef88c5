/**
 * The `acl` option over the whole service subtree (issue 13 items 7 and 8), real ZooKeeper with
 * digest auth: journal entries carry it (no forged entry), nodes that existed open are fixed at
 * start or the start is refused naming the node, and journal trimming touches only our own entries.
 */
import * as path from 'path';
import { expect } from 'chai';
import { acl, HaServer } from '../lib';
import type { HaServerOptions } from '../lib';
import { appendJournal, CoordinationError, excessGrants, readJournal, servicePaths } from '../lib/coordination';
import type { FaultReport } from '../lib';
import { ZkSession } from '../lib/zk';
import { spawnTracked } from './harness';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, uniqueRoot, within } from './support/wait';

const CREDENTIALS = { scheme: 'digest', credentials: 'svc:s3cret' };
const SERVICE_ACL = [acl.digest('svc', 's3cret', ['all']), ...acl.worldRead()];
const CLI = path.join(__dirname, '..', 'bin', 'zk-ha.ts');

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(() => 'RESOLVED', (e: { code?: string }) => e.code);
}

const report = (service: string, n: number): FaultReport => ({ kind: 'failover', service, member: 'm', at: n, durationMs: 1, detail: { n } });

describe('acl over the service subtree and the fault journal (real ZooKeeper, digest auth)', function () {
  this.timeout(60_000);
  let connect: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => { connect = (await sharedZooKeeper()).connectString; });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function session(auth: ZkSession['options']['auth'] = []): Promise<ZkSession> {
    const s = new ZkSession({ connect, sessionTimeoutMs: 4000, auth });
    cleanups.push(() => s.close());
    await s.start();
    return s;
  }

  function server(root: string, opts: Partial<HaServerOptions> = {}): HaServer {
    const s = new HaServer({
      zk: { connect, sessionTimeoutMs: 4000, auth: [CREDENTIALS] }, service: 'sec', mode: 'primary-backup', root, acl: SERVICE_ACL,
      handlers: { echo: (p) => p }, ...opts,
    });
    cleanups.push(() => s.close({ graceMs: 0 }));
    return s;
  }

  it('journal entries carry the acl: nobody without the credentials can forge, alter or delete one', async () => {
    const root = uniqueRoot('acl');
    const paths = servicePaths('sec', root);
    const s1 = server(root, { id: 's1' });
    await s1.start();
    await eventually('elected and journaled', async () => (await readJournal(s1.session, paths)).some((r) => r.kind === 'elected'));
    const stranger = await session();
    const { children } = await stranger.children(paths.faults);
    expect(children.length).to.be.greaterThan(0);
    const entry = `${paths.faults}/${children[0]}`;
    expect(excessGrants((await s1.session.getAcl(entry)).acl, SERVICE_ACL)).to.deep.equal([]);
    expect(await codeOf(stranger.create(`${paths.faults}/f-`, JSON.stringify(report('sec', 1)), { mode: 'persistent-sequential' }))).to.equal('NO_AUTH');
    expect(await codeOf(stranger.set(entry, JSON.stringify(report('sec', 2))))).to.equal('NO_AUTH');
    expect(await codeOf(stranger.delete(entry))).to.equal('NO_AUTH');
    // Nor register a member, nor take a lease.
    expect(await codeOf(stranger.create(`${paths.members}/m-`, '{}', { mode: 'ephemeral-sequential' }))).to.equal('NO_AUTH');
    expect(await codeOf(stranger.create(`${paths.leases}/x`, 'serving', { mode: 'ephemeral' }))).to.equal('NO_AUTH');
  });

  it('service nodes that already exist with an open ACL are fixed at start; an injected member is then impossible', async () => {
    const root = uniqueRoot('acl');
    const paths = servicePaths('sec', root);
    const stranger = await session();
    // Someone made the subtree first, open (world:anyone all), and slipped a member in.
    await stranger.mkdirp(paths.servicePath, JSON.stringify({ mode: 'primary-backup', createdAt: 1, layout: 1 }));
    for (const dir of [paths.members, paths.leases, paths.faults]) await stranger.create(dir);
    await stranger.create(`${paths.faults}/f-`, 'junk', { mode: 'persistent-sequential' });
    const s1 = server(root, { id: 's1' });
    const fixed: string[] = [];
    s1.membership.on('acl', (r) => fixed.push(...r.fixed));
    await s1.start();
    expect(fixed).to.include.members([paths.servicePath, paths.members, paths.leases, paths.faults]);
    for (const node of [paths.servicePath, paths.members, paths.leases, paths.faults]) {
      expect(excessGrants((await s1.session.getAcl(node)).acl, SERVICE_ACL), node).to.deep.equal([]);
    }
    expect(await codeOf(stranger.create(`${paths.members}/m-`, '{}', { mode: 'ephemeral-sequential' }))).to.equal('NO_AUTH');
    expect(await codeOf(stranger.create(`${paths.faults}/f-`, 'forged', { mode: 'persistent-sequential' }))).to.equal('NO_AUTH');
  });

  it('refuses to start, naming the node, when an open node cannot be fixed by this session', async () => {
    const root = uniqueRoot('acl');
    const paths = servicePaths('sec', root);
    const stranger = await session();
    // Anyone may write the service node and create under it, but nobody holds admin: its ACL cannot be changed.
    await stranger.mkdirp(root);
    await stranger.create(paths.servicePath, JSON.stringify({ mode: 'primary-backup', createdAt: 1, layout: 1 }), {
      acl: [{ scheme: 'world', id: 'anyone', perms: ['read', 'write', 'create', 'delete'] }],
    });
    const s1 = server(root, { id: 's1' });
    const error = await s1.start().then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(CoordinationError);
    expect((error as CoordinationError).code).to.equal('ACL_TOO_OPEN');
    expect((error as CoordinationError).message).to.contain(`${paths.servicePath} grants more`).and.contain('world:anyone: write, create, delete');
    expect((await stranger.children(paths.members)).children).to.deep.equal([]); // it did not join
  });

  it('trimming counts and deletes only our own entries; foreign nodes in faults/ stay', async () => {
    const root = uniqueRoot('acl');
    const paths = servicePaths('orders', root);
    const s = await session();
    await s.mkdirp(paths.faults);
    // 30 foreign nodes: junk named like entries, entries of another service, other names.
    for (let i = 0; i < 10; i++) await s.create(`${paths.faults}/f-`, 'junk', { mode: 'persistent-sequential' });
    for (let i = 0; i < 10; i++) await s.create(`${paths.faults}/f-`, JSON.stringify(report('other', i)), { mode: 'persistent-sequential' });
    for (let i = 0; i < 10; i++) await s.create(`${paths.faults}/x-${i}`, 'foreign');
    const foreign = new Set((await s.children(paths.faults)).children);
    const index = new Map<string, boolean>();
    for (let n = 1; n <= 8; n++) await appendJournal({ session: s, paths, maxEntries: 3 }, report('orders', n), index);
    const after = (await s.children(paths.faults)).children;
    expect(after.filter((n) => foreign.has(n)).length).to.equal(30);
    const ours = (await readJournal(s, paths, 100)).filter((r) => r.kind === 'failover' && r.service === 'orders');
    expect(ours.map((r) => r.detail.n)).to.deep.equal([8, 7, 6]);
  });

  it('`zk-ha faults` survives an entry it may not read: shown as rejected-input naming the node', async () => {
    const root = uniqueRoot('acl');
    const paths = servicePaths('orders', root);
    const s = await session();
    await s.mkdirp(paths.servicePath, JSON.stringify({ mode: 'primary-backup', createdAt: 1, layout: 1 }));
    await s.mkdirp(paths.members);
    await s.mkdirp(paths.faults);
    for (let n = 1; n <= 3; n++) await appendJournal({ session: s, paths }, report('orders', n));
    const { children } = await s.children(paths.faults);
    const locked = children.sort()[1]!;
    await s.setAcl(`${paths.faults}/${locked}`, [acl.digest('someone', 'else')]);
    const journal = await readJournal(s, paths);
    expect(journal.map((r) => r.kind)).to.deep.equal(['failover', 'rejected-input', 'failover']);
    expect(journal[1]!.detail.node).to.equal(locked);

    const child = spawnTracked(process.execPath, ['-r', 'tsx/cjs', CLI, '--connect', connect, '--root', root, 'faults', 'orders', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ZK_CONNECT: undefined },
    });
    let stdout = '';
    child.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
    const code = await within(30_000, 'zk-ha faults', new Promise<number | null>((resolve) => child.once('close', resolve)));
    expect(code).to.equal(0);
    expect((JSON.parse(stdout) as FaultReport[]).map((r) => r.kind)).to.deep.equal(['failover', 'rejected-input', 'failover']);
  });
});
