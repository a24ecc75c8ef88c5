/**
 * Replication calls from outsiders (issue 17 × issue 14 item 5, "fencing that cannot be
 * poisoned"): a plain RpcConnection sends `$repl.*` to a backup and to the primary — with a huge
 * epoch, with the current epoch and a forged op, without and with a wrong secret, and (knowing the
 * secret) with epochs the members cannot verify in ZooKeeper. Nothing is applied, no epoch rises,
 * the primary stays, writes go on, and the refusals are reported. Real ZooKeeper, servers as processes.
 */
import { expect } from 'chai';
import { HaClient, RpcError } from '../lib';
import { Membership, RpcConnection, RpcServer, ZkSession } from '../lib/blocks';
import { SECRET_META } from '../lib/ha/replication/sender-check';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { dumpOf, readIsr, startReplicated } from './support/replication-fixtures';
import type { Dump } from './support/replication-fixtures';
import { eventually, sleep, uniqueRoot } from './support/wait';
import type { Worker } from './support/worker';
import { workerReplicationSecret } from './workers/server-spec';

const T = 1500;
const HUGE = 2 ** 52;

describe('replication calls from outsiders are refused (real ZooKeeper, servers as processes)', function () {
  this.timeout(120000);
  let connect: string;
  /** Connections, the client and the workers, undone last first even when a test failed. */
  const undo: (() => Promise<unknown>)[] = [];
  before(async () => { connect = (await sharedZooKeeper()).connectString; });
  afterEach(async () => {
    while (undo.length > 0) await undo.pop()!().catch(() => undefined);
  });

  /** `n` replicated servers (s1 primary) and a client; `inSync`: wait until all are in the in-sync set. */
  async function setup(n = 3, inSync = true) {
    const root = uniqueRoot('replsec');
    const service = 'svc';
    const ws: Worker[] = [];
    for (let i = 0; i < n; i++) {
      const w = await startReplicated({ connect, root, service, id: `s${i + 1}`, sessionTimeoutMs: T, replication: { ackTimeoutMs: 500 } });
      undo.push(() => w.kill());
      ws.push(w);
    }
    await eventually('s1 serves', () => ws[0]!.of('elected').length > 0);
    if (inSync) await eventually('all in sync', async () => (await readIsr(connect, root, service))?.members.length === n, 20000);
    const client = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service, root, deadlineMs: 4 * T });
    undo.push(() => client.close());
    await client.start();
    return { root, service, ws, client };
  }

  async function connectTo(w: Worker): Promise<RpcConnection> {
    const conn = new RpcConnection({ url: w.of('started')[0]!.url as string, reconnect: false });
    undo.push(() => conn.close());
    await conn.connect();
    return conn;
  }

  async function refusal(p: Promise<unknown>): Promise<RpcError> {
    const outcome = await p.then(() => undefined, (e: unknown) => e);
    expect(outcome, 'refused').to.be.instanceOf(RpcError);
    return outcome as RpcError;
  }

  function forgedAppend(epoch: number, generation?: string) {
    return { epoch, ...(generation === undefined ? {} : { generation }), entries: [[1_000_000, epoch, { add: 'forged' }]], commit: 1_000_000 };
  }
  function forgedSnapshot(epoch: number, generation?: string) {
    const chunk = Buffer.from([0x80]); // msgpack {}: would wipe the state if restored
    return { epoch, ...(generation === undefined ? {} : { generation }), id: 'evil', index: 1_000_000, total: 1, offset: 0, chunk };
  }

  const rejected = (w: Worker, code: string) => w.of('fault').filter((f) => f.kind === 'rejected-input' && (f.detail as { code?: string }).code === code).length;

  it('without the secret (or with a wrong one) every replication call is UNAUTHENTICATED, epoch or not', async () => {
    const { service, ws, client } = await setup();
    const [primary, , backup] = ws as [Worker, Worker, Worker];
    await client.call('add', { id: 'w1' });
    const d0 = await dumpOf(backup) as Dump & { generation: string };
    const wrong = { [SECRET_META]: `${workerReplicationSecret(service)}-not` };
    for (const target of [backup, primary]) {
      const conn = await connectTo(target);
      for (const [method, params, meta] of [
        ['$repl.status', {}, undefined],
        ['$repl.append', forgedAppend(HUGE), undefined],
        ['$repl.snapshot', forgedSnapshot(HUGE), undefined],
        ['$repl.append', forgedAppend(d0.epoch, d0.generation), undefined],
        ['$repl.append', forgedAppend(d0.epoch, d0.generation), wrong],
        ['$repl.snapshot', forgedSnapshot(d0.epoch, d0.generation), wrong],
      ] as const) {
        const e = await refusal(conn.call(method, params, meta ? { meta } : {}));
        expect(e.code, `${method} to ${target.of('started')[0]!.id as string}`).to.equal('UNAUTHENTICATED');
        expect(e.notExecuted).to.equal(true);
      }
    }
    await client.call('add', { id: 'w2' });
    await expectUnharmed(ws, d0.epoch, ['w1', 'w2']);
    await eventually('the refusals are reported', () => rejected(backup, 'UNAUTHENTICATED') > 0 && rejected(primary, 'UNAUTHENTICATED') > 0);
  });

  it('with the secret, an epoch the members cannot verify in ZooKeeper raises nothing and demotes no one', async () => {
    const { service, ws, client } = await setup();
    const [primary, , backup] = ws as [Worker, Worker, Worker];
    await client.call('add', { id: 'w1' });
    const d0 = await dumpOf(backup) as Dump & { generation: string };
    const meta = { [SECRET_META]: workerReplicationSecret(service) };
    for (const target of [backup, primary]) {
      const conn = await connectTo(target);
      for (const [method, params] of [
        ['$repl.append', forgedAppend(HUGE, d0.generation)],
        ['$repl.snapshot', forgedSnapshot(HUGE, d0.generation)],
        ['$repl.append', forgedAppend(d0.epoch + 1, d0.generation)],
        ['$repl.append', forgedAppend(d0.epoch, 'not-the-generation')],
      ] as const) {
        const e = await refusal(conn.call(method, params, { meta }));
        // Retryable for a real newer primary (the member's view may be a notification behind); nothing ran.
        expect(e.code, `${method} epoch ${params.epoch}`).to.equal('UNAVAILABLE');
        expect(e.notExecuted).to.equal(true);
      }
    }
    // The primary's own epoch, or an older one, is FENCED: the primary never takes appends, a backup no old primary's.
    const toPrimary = await connectTo(primary);
    expect((await refusal(toPrimary.call('$repl.append', forgedAppend(d0.epoch, d0.generation), { meta }))).code).to.equal('FENCED');
    if (d0.epoch > 0) {
      // (The first primary's epoch is often 0; replication.test.ts fences an old primary after a failover.)
      const toBackup = await connectTo(backup);
      expect((await refusal(toBackup.call('$repl.append', forgedAppend(d0.epoch - 1, d0.generation), { meta }))).code).to.equal('FENCED');
    }
    await client.call('add', { id: 'w2' });
    await expectUnharmed(ws, d0.epoch, ['w1', 'w2']);
    await eventually('the refusals are reported', () => rejected(backup, 'UNAVAILABLE') > 0 && rejected(primary, 'FENCED') > 0);
  });

  it('a member record registered by someone else never receives the secret: the primary dials it, asks for a proof, sends nothing', async () => {
    const { root, service, ws, client } = await setup(2, false);
    // A process with ZooKeeper write access (e.g. a client sharing the servers' credentials) registers itself as a member.
    const received: { method: string; meta: Record<string, unknown> }[] = [];
    const capture = (method: string) => (_p: unknown, ctx: { meta: Record<string, unknown> }) => {
      received.push({ method, meta: ctx.meta });
      return method === '$repl.hello' ? { proof: Buffer.alloc(32) } : { key: 'fake@00000000', epoch: 0, generation: '', lastIndex: 0, appliedIndex: 0 };
    };
    const fake = new RpcServer({ host: '127.0.0.1', port: 0, handlers: { '$repl.hello': capture('$repl.hello'), '$repl.status': capture('$repl.status'), '$repl.append': capture('$repl.append') } });
    const { port } = await fake.listen();
    undo.push(() => fake.close({ graceMs: 0 }));
    const session = new ZkSession({ connect, sessionTimeoutMs: 4000 });
    undo.push(() => session.close());
    await session.start();
    const member = new Membership(session, { service, mode: 'primary-backup', root, record: { id: 'fake', url: `ws://127.0.0.1:${port}`, weight: 1 } });
    undo.push(() => member.leave());
    await member.register();
    await eventually('the primary dialled the fake member', () => received.some((r) => r.method === '$repl.hello'), 20000);
    for (let i = 0; i < 20; i++) await client.call('add', { id: `w${i}` });
    await eventually('the primary reports the member that cannot prove the secret', () => ws[0]!.of('fault').some((f) =>
      (f.detail as { what?: string; code?: string }).what === 'peer-error' && (f.detail as { code?: string }).code === 'UNAUTHENTICATED'));
    expect(received.map((r) => r.method), 'nothing but the challenge').to.satisfy((m: string[]) => m.every((x) => x === '$repl.hello'));
    expect(received.every((r) => r.meta[SECRET_META] === undefined), 'the secret never sent').to.equal(true);
    expect((await dumpOf(ws[1]!)).ids).to.have.length(20);
  });

  /** Every member holds exactly the real writes, at the real epoch; the primary was never demoted and still serves. */
  async function expectUnharmed(ws: Worker[], epoch: number, ids: string[]): Promise<void> {
    await sleep(200);
    for (const w of ws) {
      await eventually(`${w.of('started')[0]!.id as string} holds the real writes`, async () => (await dumpOf(w)).ids.length === ids.length);
      const d = await dumpOf(w);
      expect(d.ids, 'only the real writes').to.deep.equal(ids);
      expect(d.epoch, 'no epoch rose').to.equal(epoch);
      expect(w.of('demoted').length, 'nobody demoted').to.equal(0);
    }
    expect(ws[0]!.of('elected').length).to.equal(1);
  }
});
