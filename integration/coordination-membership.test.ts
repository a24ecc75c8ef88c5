/**
 * Membership and MembershipView (issue 3) against a real ZooKeeper: registration, mode, update,
 * leave, re-registration after expiry and after an operator's delete, a create whose reply was
 * lost, the cost of a change in reads, bad member data, and 200 members churning under 20 views.
 */
import { expect } from 'chai';
import type { ZkCluster } from './harness';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot, within } from './support/wait';
import { Sessions } from './support/sessions';
import { CoordinationError, decodeRecord, Membership, MembershipView, servicePaths, sortMemberNames } from '../lib/coordination';
import type { MembershipChange, ServicePaths } from '../lib/coordination';
import { ZkError, ZkSession } from '../lib/zk';

/** What a fresh, independent read of the members node says: names in sequence order with their ids. */
async function freshRead(session: ZkSession, paths: ServicePaths): Promise<string[]> {
  const { children } = await session.children(paths.members);
  const out: string[] = [];
  for (const { name } of sortMemberNames(children)) {
    try {
      const { data } = await session.get(`${paths.members}/${name}`);
      out.push(`${name}:${decodeRecord(data, name).id}`);
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') continue;
      if (error instanceof CoordinationError) continue;
      throw error;
    }
  }
  return out;
}

function viewed(view: MembershipView): string[] {
  return view.snapshot.members.map((m) => `${m.name}:${m.record.id}`);
}

describe('coordination: Membership and MembershipView (real ZooKeeper)', function () {
  this.timeout(60000);
  let zk: ZkCluster;
  const sessions = new Sessions(() => ({ connect: zk.connectString }));
  const views: MembershipView[] = [];

  async function open(sessionTimeoutMs = 4000): Promise<ZkSession> {
    const s = sessions.create({ sessionTimeoutMs });
    s.setMaxListeners(50);
    await s.start();
    return s;
  }
  function member(session: ZkSession, root: string, id: string, extra: Partial<ConstructorParameters<typeof Membership>[1]> = {}): Membership {
    return new Membership(session, { service: 'svc', mode: 'primary-backup', root, record: { id, url: `ws://127.0.0.1:1/${id}` }, ...extra });
  }
  async function view(session: ZkSession, root: string, watchMode: 'auto' | 'children' = 'auto'): Promise<MembershipView> {
    const v = new MembershipView(session, 'svc', { root, watchMode });
    views.push(v);
    await v.start();
    return v;
  }

  before(async () => { zk = await sharedZooKeeper(); });
  afterEach(async () => {
    for (const v of views.splice(0)) v.stop();
    await sessions.closeAll();
  });

  it('register: an EPHEMERAL_SEQUENTIAL node under members/ holding the JSON record; the service node holds the mode', async () => {
    const s = await open();
    const root = uniqueRoot();
    const m = member(s, root, 'alpha', { record: { id: 'alpha', url: 'ws://127.0.0.1:9/a', weight: 3, zone: 'z1', meta: { k: 'v' } } });
    const own = await m.register();
    const paths = servicePaths('svc', root);
    expect(own.path.startsWith(`${paths.members}/m-`)).to.equal(true);
    const { data, stat } = await s.get(own.path);
    expect(stat.ephemeralOwner).to.equal(s.sessionId);
    const record = JSON.parse(data.toString()) as Record<string, unknown>;
    expect(record).to.include({ id: 'alpha', url: 'ws://127.0.0.1:9/a', weight: 3, zone: 'z1', pid: process.pid });
    expect(record).to.have.keys('id', 'url', 'weight', 'zone', 'meta', 'pid', 'host', 'startedAt', 'version');
    const service = JSON.parse((await s.get(paths.servicePath)).data.toString()) as Record<string, unknown>;
    expect(service).to.include({ mode: 'primary-backup', layout: 1 });
    expect((await s.get(paths.servicePath)).stat.ephemeralOwner).to.equal('0000000000000000');
  });

  it('a member joining with another mode gets MODE_MISMATCH and leaves nothing behind', async () => {
    const s = await open();
    const root = uniqueRoot();
    await member(s, root, 'pb').register();
    const other = member(s, root, 'red', { mode: 'redundant' });
    const error = await other.register().then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(CoordinationError);
    expect((error as CoordinationError).code).to.equal('MODE_MISMATCH');
    expect(await freshRead(s, servicePaths('svc', root))).to.have.length(1);
    // It does not re-register on the next session either: no listener stays behind.
    expect(s.listenerCount('session')).to.equal(1);
  });

  it('update() and leave() reach every view as "updated" and "left"', async () => {
    const s = await open();
    const observer = await open();
    const root = uniqueRoot();
    const a = member(s, root, 'a');
    const b = member(s, root, 'b');
    await a.register();
    await b.register();
    const v = await view(observer, root);
    expect(v.snapshot.members.map((m) => m.record.id)).to.deep.equal(['a', 'b']);
    const changes: MembershipChange[] = [];
    v.on('change', (c) => changes.push(c));
    await a.update({ weight: 7, meta: { shard: 2 } });
    await eventually('updated', () => changes.some((c) => c.updated.length === 1));
    expect(changes[0]!.updated[0]!.record).to.include({ id: 'a', weight: 7 });
    expect(v.snapshot.members[0]!.record.meta).to.deep.equal({ shard: 2 });
    await a.leave();
    await eventually('left', () => changes.some((c) => c.left.length === 1));
    expect(v.snapshot.members.map((m) => m.record.id)).to.deep.equal(['b']);
    expect(v.snapshot.leader?.record.id).to.equal('b');
    expect(a.node).to.equal(undefined);
  });

  it('after the session is lost the member registers again on the new session by itself', async () => {
    const s = await open(2000);
    const root = uniqueRoot();
    const m = member(s, root, 'phoenix');
    const first = await m.register();
    const registered = new Promise<string>((resolve) => m.on('registered', (n) => resolve(n.reason)));
    const creds = s.credentials!;
    await zk.expireSession(creds.sessionId, creds.password);
    expect(await within(15000, 're-registered', registered)).to.equal('session');
    const second = m.node!;
    expect(second.sequence).to.be.greaterThan(first.sequence);
    expect(second.sessionId).to.equal(s.sessionId).and.not.equal(first.sessionId);
    const observer = await open();
    expect((await observer.exists(second.path))?.ephemeralOwner).to.equal(s.sessionId);
    expect(await observer.exists(first.path)).to.equal(null);
    expect(await freshRead(observer, m.paths)).to.deep.equal([`${second.name}:phoenix`]);
  });

  it('an operator deletes the member\'s znode: it registers again with a new sequence', async () => {
    const s = await open();
    const operator = await open();
    const root = uniqueRoot();
    const m = member(s, root, 'stubborn');
    const first = await m.register();
    const again = new Promise<{ reason: string; sequence: number }>((resolve) => m.on('registered', resolve));
    await operator.delete(first.path);
    const n = await within(10000, 're-registered after delete', again);
    expect(n.reason).to.equal('deleted');
    expect(n.sequence).to.be.greaterThan(first.sequence);
    expect(await freshRead(operator, m.paths)).to.deep.equal([`${m.node!.name}:stubborn`]);
  });

  it('a create whose reply was lost is found again by member id: exactly one node', async () => {
    const s = await open();
    const root = uniqueRoot();
    const m = member(s, root, 'lost-reply');
    const realCreate = s.create.bind(s);
    let lostReplies = 0;
    // ZooKeeper executes the create; the reply never reaches us.
    s.create = async (path, data, opts) => {
      const created = await realCreate(path, data, opts);
      if (opts?.mode === 'ephemeral-sequential' && lostReplies === 0) {
        lostReplies++;
        throw new ZkError('CONNECTION_LOSS', `create ${path}: connection lost (reply lost)`, { path });
      }
      return created;
    };
    const own = await m.register();
    expect(lostReplies).to.equal(1);
    const nodes = await freshRead(s, m.paths);
    expect(nodes.filter((n) => n.endsWith(':lost-reply'))).to.deep.equal([`${own.name}:lost-reply`]);
  });

  it('leave() while the registration is still in flight leaves no node behind', async () => {
    const s = await open();
    const root = uniqueRoot();
    const m = member(s, root, 'hasty');
    const realCreate = s.create.bind(s);
    s.create = async (path, data, opts) => {
      if (opts?.mode === 'ephemeral-sequential') await sleep(300);
      return realCreate(path, data, opts);
    };
    const registering = m.register().then(() => 'registered', (e: unknown) => (e as CoordinationError).code);
    await sleep(100);
    await m.leave();
    expect(await registering).to.equal('CLOSED');
    expect(await freshRead(s, m.paths)).to.deep.equal([]);
    expect(m.node).to.equal(undefined);
  });

  for (const [mode, expected] of [
    ['persistent', { join: 1, update: 1, leave: 0 }],
    ['children', { join: 2, update: 1, leave: 1 }],
  ] as const) {
    it(`each change costs ${mode === 'persistent' ? 'a getData of the new or changed node only, a departure nothing (persistent recursive watch)' : 'one getChildren plus getData of the new node only (one-shot watches)'} (session.stats.reads)`, async () => {
      const s = await open();
      const observer = await open(30000); // write probes only: reads below are the view's alone
      const root = uniqueRoot();
      const members = Array.from({ length: 30 }, (_, i) => member(s, root, `m${i}`));
      for (const m of members) await m.register();
      const v = await view(observer, root, mode === 'persistent' ? 'auto' : 'children');
      expect(v.watchMode).to.equal(mode);
      expect(v.snapshot.members).to.have.length(30);
      /** Reads the view makes for `act` until `done` holds, plus a quiet time in which any wasted read would show. */
      const cost = async (what: string, act: () => Promise<unknown>, done: () => boolean): Promise<number> => {
        const before = observer.stats.reads;
        await act();
        await eventually(what, done);
        await sleep(300);
        return observer.stats.reads - before;
      };
      const late = member(s, root, 'late');
      expect(await cost('joined', () => late.register(), () => v.snapshot.members.length === 31), 'reads for one join').to.equal(expected.join);
      expect(await cost('updated', () => late.update({ weight: 5 }),
        () => v.snapshot.members.find((m) => m.record.id === 'late')?.record.weight === 5), 'reads for one update').to.equal(expected.update);
      const leaveCost = await cost('left', () => members[5]!.leave(), () => v.snapshot.members.length === 30);
      expect(leaveCost, 'reads for one departure').to.equal(expected.leave);
    });
  }

  it('garbage in a member znode: every view skips it and reports it; fixing the data makes it appear', async () => {
    const s = await open();
    const writer = await open();
    const root = uniqueRoot();
    await member(s, root, 'good').register();
    const vs = await Promise.all([view(await open(), root), view(await open(), root)]);
    const invalid: { path: string; code: string }[][] = vs.map(() => []);
    vs.forEach((v, i) => v.on('invalid', ({ path, error }) => invalid[i]!.push({ path, code: error.code })));
    const paths = servicePaths('svc', root);
    const bad = await writer.create(`${paths.members}/m-`, '{"id": not json', { mode: 'ephemeral-sequential' });
    await eventually('reported as invalid by every view', () => invalid.every((l) => l.length === 1));
    for (const l of invalid) expect(l[0]).to.deep.equal({ path: bad, code: 'BAD_MEMBER_RECORD' });
    // A record that is JSON but not a member record is just as invalid.
    await writer.set(bad, JSON.stringify({ id: 'x', url: 'http://not-ws' }));
    await eventually('second bad version reported', () => invalid.every((l) => l.length === 2));
    for (const v of vs) expect(v.snapshot.members.map((m) => m.record.id)).to.deep.equal(['good']);
    await writer.set(bad, JSON.stringify({ id: 'fixed', url: 'ws://127.0.0.1:2', weight: 1, pid: 1, host: 'h', startedAt: 1, version: '0' }));
    await eventually('fixed member appears', () => vs.every((v) => v.snapshot.members.some((m) => m.record.id === 'fixed')));
    for (const v of vs) expect(v.snapshot.members.map((m) => m.record.id)).to.deep.equal(['good', 'fixed']);
  });

  /** Makes the next three calls of `op` on `session` fail with CONNECTION_LOSS; returns how many failed so far. */
  function failThrice(session: ZkSession, op: 'children' | 'get'): () => number {
    let failures = 0;
    const real = session[op].bind(session) as (...a: unknown[]) => Promise<unknown>;
    (session as unknown as Record<string, unknown>)[op] = async (path: string, opts: unknown) => {
      if (failures < 3) {
        failures++;
        throw new ZkError('CONNECTION_LOSS', `${op} ${path}: connection lost`, { path });
      }
      return real(path, opts);
    };
    return () => failures;
  }

  // One-shot watches: the children watch fires once and the refreshes it starts fail at the listing.
  // Persistent watch: the created event's refresh fails at the new member's getData.
  for (const [mode, op] of [['children', 'children'], ['persistent', 'get']] as const) {
    it(`ZooKeeper errors while refreshing (${mode} watch, ${op} fails): the view keeps its snapshot, never crashes (no error listener), then converges`, async () => {
      const s = await open();
      const observer = await open();
      const root = uniqueRoot();
      await member(s, root, 'one').register();
      const v = await view(observer, root, mode === 'children' ? 'children' : 'auto');
      expect(v.watchMode).to.equal(mode);
      const first = v.snapshot;
      const failures = failThrice(observer, op);
      await member(s, root, 'two').register();
      await eventually('three failed refreshes', () => failures() === 3);
      expect(v.snapshot, 'last snapshot kept').to.equal(first);
      await eventually('converges once ZooKeeper answers', () => v.snapshot.members.length === 2, 10000);
    });
  }

  it('the async iterator yields each change and ends when the view stops', async () => {
    const s = await open();
    const root = uniqueRoot();
    const v = await view(await open(), root);
    const seen: string[] = [];
    const done = (async () => {
      for await (const change of v) {
        for (const m of change.joined) seen.push(`+${m.record.id}`);
        for (const m of change.left) seen.push(`-${m.record.id}`);
      }
      return 'ended';
    })();
    const m = member(s, root, 'it');
    await m.register();
    await eventually('joined seen', () => seen.includes('+it'));
    await m.leave();
    await eventually('left seen', () => seen.includes('-it'));
    v.stop();
    expect(await within(2000, 'iterator ends after stop()', done)).to.equal('ended');
  });

  it('200 members join and leave concurrently while 20 views watch (10 persistent, 10 one-shot): every view ends on a fresh read', async () => {
    const root = uniqueRoot();
    const hosts = await Promise.all(Array.from({ length: 20 }, () => open(6000)));
    const observers = await Promise.all(Array.from({ length: 20 }, () => open(6000)));
    // The service exists before the churn (the first member creates it).
    await member(hosts[0]!, root, 'anchor').register();
    const vs = await Promise.all(observers.map((o, i) => view(o, root, i % 2 ? 'children' : 'auto')));
    expect(vs.map((v) => v.watchMode)).to.include.members(['persistent', 'children']);
    const errors: unknown[] = [];
    for (const v of vs) v.on('error', (e) => errors.push(e));
    const members = hosts.flatMap((h, i) => Array.from({ length: 10 }, (_, j) => member(h, root, `h${i}-m${j}`)));
    // Everyone joins at once; a third leaves again at once; a third of those joins a second time.
    await Promise.all(members.map(async (m, k) => {
      await m.register();
      if (k % 3 === 0) {
        await m.leave();
        if (k % 9 === 0) await m.register();
      }
    }));
    const truth = await freshRead(observers[0]!, servicePaths('svc', root));
    expect(truth.length).to.equal(1 + 200 - Math.ceil(200 / 3) + Math.ceil(200 / 9));
    await eventually('every view equals the fresh read', async () => {
      const fresh = await freshRead(observers[0]!, servicePaths('svc', root));
      return vs.every((v) => JSON.stringify(viewed(v)) === JSON.stringify(fresh));
    }, 30000);
    for (const v of vs) expect(viewed(v)).to.deep.equal(truth);
    expect(errors).to.deep.equal([]);
  });
});
