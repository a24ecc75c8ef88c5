/**
 * HaServer and HaClient (issue 5 §3): real ZooKeeper, servers as child processes, the client in
 * the test process.
 */
import { expect } from 'chai';
import { HaClient } from '../lib';
import { Membership, RpcConnection, RpcServer, ZkSession } from '../lib/blocks';
import type { RpcError } from '../lib/blocks';
import { monotonicMs } from '../lib/base/clock';
import { leaseNodeName } from '../lib/coordination';
import { holdWindowMs } from '../lib/ha/hold-window';
import type { HaClientOptions } from '../lib';
import { startZooKeeper, TcpProxy, type ZkCluster } from './harness';
import { Load, runsOf, startServer } from './support/ha-fixtures';
import { ServerSuite } from './support/server-suite';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot } from './support/wait';
import type { Worker } from './support/worker';

const T = 1500; // servers' session timeout

describe('HaServer + HaClient (real ZooKeeper, servers as processes)', function () {
  this.timeout(120000);
  const kit = new ServerSuite(T);
  const { workers, clients, closers } = kit;

  async function group(mode: 'primary-backup' | 'redundant', n: number, extra: { weights?: number[] } = {}) {
    const root = uniqueRoot('ha');
    const service = 'svc';
    const ws: Worker[] = [];
    for (let i = 0; i < n; i++) {
      // Sequentially, so that s1 is first in line.
      const w = await startServer({ connect: kit.connect, root, service, mode, id: `s${i + 1}`, sessionTimeoutMs: T, weight: extra.weights?.[i] });
      ws.push(w);
      workers.push(w);
    }
    return { root, service, ws };
  }

  const client = (root: string, service: string, opts: Partial<HaClientOptions> = {}): Promise<HaClient> => kit.client(root, service, opts);

  const primaryOf = (ws: Worker[]): Worker => ws.find((w) => w.of('elected').length > w.of('demoted').length)!;

  describe('primary/backup', () => {
    it('primary SIGKILL: calls resume on the new primary; no idempotent call with a deadline above the session timeout fails', async () => {
      const { root, service, ws } = await group('primary-backup', 3);
      const c = await client(root, service);
      await eventually('a primary', () => primaryOf(ws) !== undefined);
      const load = new Load((id) => c.callWithInfo('whoami', { callId: id }, { idempotent: true, deadlineMs: 3 * T }));
      await sleep(300);
      const old = primaryOf(ws);
      const oldEpoch = old.of('elected')[0]!.epoch as number;
      old.signal('SIGKILL');
      await eventually('a new primary', () => ws.some((w) => w !== old && w.of('elected').length > 0), 10000);
      await sleep(500);
      await load.stop();
      expect(load.failed, JSON.stringify(load.failed.slice(0, 3))).to.have.length(0);
      const after = load.ok.filter((r) => r.epoch !== undefined && r.epoch > oldEpoch);
      expect(after.length, 'calls answered by the new primary').to.be.greaterThan(0);
      // Epochs accepted by the client, in completion order, never go down (a lower one is FENCED).
      for (let i = 1; i < load.ok.length; i++) expect(load.ok[i]!.epoch!).to.be.at.least(load.ok[i - 1]!.epoch!);
      expect(c.epoch).to.be.greaterThan(oldEpoch);
    });

    it('primary SIGSTOP past the session timeout, then SIGCONT: the resumed process runs no handler as primary', async () => {
      const { root, service, ws } = await group('primary-backup', 3);
      const c = await client(root, service);
      await eventually('a primary', () => primaryOf(ws) !== undefined);
      const load = new Load((id) => c.callWithInfo('whoami', { callId: id }, { idempotent: true, deadlineMs: 4 * T }));
      await sleep(300);
      const old = primaryOf(ws);
      const oldEpoch = old.of('elected')[0]!.epoch as number;
      old.signal('SIGSTOP');
      await eventually('a new primary', () => ws.some((w) => w !== old && w.of('elected').length > 0), 15000);
      await sleep(T);
      // Stamped before SIGCONT: a handler that starts after this ran in the resumed process. (A stamp
      // taken before SIGSTOP would also catch runs that began, legitimately, while this process was
      // descheduled between the stamp and the signal.)
      const resumedAt = process.hrtime.bigint();
      old.signal('SIGCONT');
      await old.waitFor('demoted', 1, 10000);
      await sleep(800);
      await load.stop();
      // The freeze may land between the lease check and the handler it admits (the check-then-act
      // window of any lease; the epoch fences that one run's answer). So: at most one handler may
      // start after the resume, and only one admitted before the freeze — it starts without the
      // lease. One admitted after the resume would start while the process still thinks it leads.
      const lateRuns = runsOf(old, 'old').filter((r) => r.t0 > resumedAt);
      expect(lateRuns.length, `handler runs of the frozen primary after it was resumed: ${JSON.stringify(lateRuns, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`).to.be.at.most(1);
      for (const run of lateRuns) expect(run.leading, 'a handler started after the resume by a process that still held the lease').to.equal(false);
      expect(runsOf(old, 'old').some((r) => r.leading === true), 'runs before the freeze are logged as leading').to.equal(true);
      expect(load.failed, JSON.stringify(load.failed.slice(0, 3))).to.have.length(0);
      // Each epoch's runs come from one process only.
      const byEpoch = new Map<number, Set<string>>();
      ws.forEach((w, i) => runsOf(w, `s${i + 1}`).forEach((r) => {
        if (r.epoch === undefined) return;
        byEpoch.set(r.epoch, (byEpoch.get(r.epoch) ?? new Set()).add(r.worker));
      }));
      for (const [epoch, who] of byEpoch) expect(who.size, `epoch ${epoch}`).to.equal(1);
      expect(byEpoch.has(oldEpoch)).to.equal(true);
    });

    for (const how of ['stepDown', 'close'] as const) {
      it(`${how}() of the primary under steady load: zero failed calls of any kind`, async () => {
        const { root, service, ws } = await group('primary-backup', 3);
        const c = await client(root, service);
        await eventually('a primary', () => primaryOf(ws) !== undefined);
        // Non-idempotent calls: not one may fail or run twice.
        const load = new Load((id) => c.callWithInfo('incr', { callId: id }, { deadlineMs: 4 * T }), 8, 0);
        await sleep(300);
        const old = primaryOf(ws);
        old.send({ cmd: how });
        await eventually('a new primary', () => ws.some((w) => w !== old && w.of('elected').length > 0), 10000);
        await sleep(400);
        await load.stop();
        expect(load.failed, JSON.stringify(load.failed.slice(0, 3))).to.have.length(0);
        expect(load.ok.length).to.be.greaterThan(50);
        const perCall = (): Map<string, number> => {
          const counts = new Map<string, number>();
          for (const r of ws.flatMap((w, i) => runsOf(w, `s${i + 1}`))) if (r.method === 'incr') counts.set(r.callId!, (counts.get(r.callId!) ?? 0) + 1);
          return counts;
        };
        // A worker logs a run after answering it: give its stdout a moment to catch up.
        await eventually('every answered call logged', () => { const c = perCall(); return load.ok.every((ok) => c.has(ok.callId)); }, 5000).catch(() => undefined);
        const counts = perCall();
        for (const ok of load.ok) expect(counts.get(ok.callId), ok.callId).to.equal(1);
      });
    }

    it('stepDown() while the client hears nothing from ZooKeeper: the old primary names its successor, which holds the calls until it serves — 0 failed', async () => {
      const { root, service, ws } = await group('primary-backup', 3);
      // The client reaches ZooKeeper through a proxy we blackhole during the handover: its view
      // cannot learn of the new primary, so only the hint and the successor's hold can carry calls.
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: (await sharedZooKeeper()).nodes[0]!.clientPort });
      closers.push(() => proxy.close());
      const c = await client(root, service, { zk: { connect: proxy.address, sessionTimeoutMs: 8000 } });
      await eventually('a primary', () => primaryOf(ws) !== undefined);
      const [s1, s2] = ws as [Worker, Worker];
      expect(primaryOf(ws), 's1 is first in line').to.equal(s1);
      const oldEpoch = s1.of('elected')[0]!.epoch as number;
      await eventually('the client routes to s1', async () => (await c.callWithInfo('whoami', {}, { idempotent: true })).member === 's1');
      const load = new Load((id) => c.callWithInfo('incr', { callId: id }, { deadlineMs: 4 * T }), 4, 2);
      kit.loads.push(load);
      await sleep(200);
      proxy.blackhole();
      s1.send({ cmd: 'stepDown' });
      const newEpoch = (await s2.waitFor('elected', 1, 10000)).epoch as number;
      await eventually('calls answered by s2 under its epoch', () => load.ok.some((r) => r.epoch === newEpoch), 10000);
      await sleep(200);
      await load.stop();
      expect(c.epoch, "the client's view never saw the new primary").to.equal(oldEpoch);
      proxy.heal();
      expect(load.failed, JSON.stringify(load.failed.slice(0, 3))).to.have.length(0);
      const after = load.ok.filter((r) => r.epoch !== oldEpoch);
      expect(after.length).to.be.greaterThan(0);
      expect(new Set(after.map((r) => `${r.member}@${r.epoch}`))).to.deep.equal(new Set([`s2@${newEpoch}`]));
    });

    it('stepDown(): while the old primary drains, its NOT_PRIMARY answers name its successor (the next in line), before any view has changed', async () => {
      const { ws } = await group('primary-backup', 3);
      await eventually('a primary', () => primaryOf(ws) !== undefined);
      const [s1, s2] = ws as [Worker, Worker];
      const conn = new RpcConnection({ url: s1.of('started')[0]!.url as string, reconnect: false });
      closers.push(() => conn.close());
      await conn.connect();
      // A call in flight keeps s1 draining: its release (and so any view change) waits for it.
      const long = conn.call('sleep', { ms: 3000, callId: 'long' }, { timeoutMs: 10_000 });
      await sleep(100);
      s1.send({ cmd: 'stepDown' });
      await s1.waitFor('stepping');
      const error = await conn.call('whoami', {}).then(() => undefined, (e: RpcError) => e);
      expect(error).to.include({ code: 'NOT_PRIMARY', notExecuted: true, leaderHint: s2.of('started')[0]!.url });
      expect(s2.of('elected'), 'the handover has not happened yet').to.have.length(0);
      await long;
      await s2.waitFor('elected', 1, 10000);
    });

    it('a call to the second in line while the primary serves is held for the hold window, then refused NOT_PRIMARY (not executed) with a hint to the primary', async () => {
      const { ws } = await group('primary-backup', 3);
      await eventually('a primary', () => primaryOf(ws) !== undefined);
      const [s1, s2] = ws as [Worker, Worker];
      await sleep(500); // s2 observes s1's lease
      const conn = new RpcConnection({ url: s2.of('started')[0]!.url as string, reconnect: false });
      closers.push(() => conn.close());
      await conn.connect();
      const t0 = monotonicMs();
      const error = await conn.call('incr', { callId: 'misdirected' }).then(() => undefined, (e: RpcError) => e);
      const waited = monotonicMs() - t0;
      expect(error).to.include({ code: 'NOT_PRIMARY', notExecuted: true, retryable: true, leaderHint: s1.of('started')[0]!.url });
      // A lower bound only (a hold never ends before its window): the call was held, not refused at once.
      expect(waited).to.be.at.least(holdWindowMs(500) - 2);
      expect(runsOf(s2, 's2').filter((r) => r.callId === 'misdirected')).to.deep.equal([]);
    });

    it('a backup killed: no call notices', async () => {
      const { root, service, ws } = await group('primary-backup', 3);
      const c = await client(root, service);
      await eventually('a primary', () => primaryOf(ws) !== undefined);
      const load = new Load((id) => c.callWithInfo('incr', { callId: id }, { deadlineMs: 2000 }));
      await sleep(200);
      const primary = primaryOf(ws);
      ws.find((w) => w !== primary)!.signal('SIGKILL');
      await sleep(T + 500);
      await load.stop();
      expect(load.failed).to.have.length(0);
      expect(new Set(load.ok.map((r) => r.epoch)).size).to.equal(1);
    });

    it('a non-idempotent call whose connection dies after sending is not retried: it fails "outcome unknown"', async () => {
      const { root, service, ws } = await group('primary-backup', 2);
      const c = await client(root, service);
      await eventually('a primary', () => primaryOf(ws) !== undefined);
      const primary = primaryOf(ws);
      const pending = c.call('sleep', { ms: 3000, callId: 'once' }, { deadlineMs: 10000 }).then(() => undefined, (e: { code: string; notExecuted: boolean }) => e);
      await sleep(300); // the handler is running (it logs only when it ends)
      primary.signal('SIGKILL');
      const error = await pending;
      expect(error?.code).to.equal('UNAVAILABLE');
      expect(error?.notExecuted).to.equal(false);
      await sleep(2 * T);
      const other = ws.find((w) => w !== primary)!;
      expect(runsOf(other, 'other').filter((r) => r.callId === 'once')).to.deep.equal([]);
    });
  });

  describe('redundant', () => {
    it('smooth weighted round-robin gives exactly the weights over each cycle', async () => {
      const { root, service } = await group('redundant', 3, { weights: [1, 2, 3] });
      const c = await client(root, service, { balancer: 'weighted-round-robin' });
      await eventually('all connected', async () => (await c.callWithInfo('whoami', {})) !== undefined && c.view.snapshot.members.length === 3);
      await sleep(300);
      const cycles = 5;
      const counts: Record<string, number> = {};
      for (let i = 0; i < 6 * cycles; i++) {
        const r = await c.callWithInfo<{ id: string }>('whoami', {});
        counts[r.result.id] = (counts[r.result.id] ?? 0) + 1;
      }
      expect(counts).to.deep.equal({ s1: cycles, s2: 2 * cycles, s3: 3 * cycles });
    });

    it('one of three killed: the others take the load; it comes back and is used again without restarting the client', async () => {
      const { root, service, ws } = await group('redundant', 3);
      const c = await client(root, service, { balancer: 'round-robin' });
      await sleep(300);
      const load = new Load((id) => c.callWithInfo<{ id: string }>('whoami', { callId: id }, { idempotent: true }).then((r) => ({ epoch: r.epoch, member: r.member })));
      await sleep(300);
      ws[1]!.signal('SIGKILL');
      await sleep(T + 1000);
      const beforeBack = load.ok.length;
      workers.push(await startServer({ connect: kit.connect, root, service, mode: 'redundant', id: 's2', sessionTimeoutMs: T }));
      await eventually('s2 used again', () => load.ok.slice(beforeBack).some((r) => r.member === 's2'), 15000);
      await load.stop();
      expect(load.failed, JSON.stringify(load.failed.slice(0, 3))).to.have.length(0);
      const afterKill = load.ok.slice(beforeBack - 200, beforeBack).map((r) => r.member);
      expect(afterKill).to.not.include('s2');
    });

    it('hedged idempotent calls: the first answer wins and the losing attempts are cancelled on the server', async () => {
      const { root, service, ws } = await group('redundant', 3);
      const c = await client(root, service, { balancer: 'round-robin', hedge: { delaysMs: [0, 0] } });
      await eventually('all three connected', async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add((await c.callWithInfo('whoami', {})).member);
        return seen.size === 3;
      });
      for (let i = 0; i < 5; i++) {
        const r = await c.callWithInfo<{ id: string }>('slowOn', { slow: ['s1', 's2'], ms: 5000, callId: `h${i}` }, { idempotent: true, deadlineMs: 3000 });
        expect(r.member).to.equal('s3');
      }
      // The slow attempts on s1 and s2 were cancelled: their handlers saw the abort long before 5 s.
      await eventually('losers cancelled', () => [ws[0]!, ws[1]!].every((w) => w.of('run').filter((e) => e.method === 'slowOn' && e.aborted === true).length === 5));
      // A non-idempotent call is never hedged.
      const once = await c.callWithInfo('slowOn', { slow: [], ms: 0, callId: 'single' });
      expect(once.attempts).to.equal(1);
      expect(ws.flatMap((w) => w.of('run')).filter((e) => e.callId === 'single')).to.have.length(1);
    });

    it('a flapping member is ejected and re-admitted by itself', async () => {
      const { root, service, ws } = await group('redundant', 3);
      const c = await client(root, service, { balancer: 'round-robin', health: { consecutiveFailures: 3, baseEjectionMs: 300 } });
      const kinds: string[] = [];
      c.on('fault', (f) => { if (f.member === 's3') kinds.push(f.kind); });
      await sleep(300);
      ws[2]!.send({ cmd: 'flaky', on: true });
      await ws[2]!.waitFor('flaky');
      const load = new Load((id) => c.callWithInfo('flaky', { callId: id }, { idempotent: true }).then((r) => ({ epoch: r.epoch, member: r.member })));
      await eventually('s3 ejected', () => kinds.includes('endpoint-ejected'));
      ws[2]!.send({ cmd: 'flaky', on: false });
      await ws[2]!.waitFor('flaky', 2);
      await eventually('s3 recovered', () => kinds.includes('endpoint-recovered'), 10000);
      const mark = load.ok.length;
      await eventually('s3 serves again', () => load.ok.slice(mark).some((r) => r.member === 's3'));
      await load.stop();
      // Flaky answers are "not executed", so every call found a healthy member.
      expect(load.failed).to.have.length(0);
    });
  });

  it('a response below the verified epoch is refused (FENCED); a higher one is accepted but raises nothing', async () => {
    const root = uniqueRoot('fence');
    const session = new ZkSession({ connect: kit.connect });
    await session.start();
    let stamp = 0;
    const rogue = new RpcServer({ handlers: { whoami: () => 'rogue' }, admit: () => ({ epoch: stamp }) });
    const { url } = await rogue.listen();
    const member = new Membership(session, { service: 'f', mode: 'primary-backup', root, record: { id: 'rogue', url } });
    await member.register();
    const own = await member.requeue(); // sequence 1: epoch 0 is below it
    // Its lease node: the view acknowledges it as the primary.
    await session.create(`${root}/f/leases/${leaseNodeName(own.name, own.sessionId)}`, undefined, { mode: 'ephemeral' });
    closers.push(() => rogue.close({ graceMs: 0 }), () => session.close());
    stamp = own.sequence;
    const c = await client(root, 'f');
    expect((await c.callWithInfo('whoami')).epoch).to.equal(own.sequence);
    expect(c.epoch).to.equal(own.sequence);
    stamp = own.sequence - 1;
    const faults: string[] = [];
    c.on('fault', (f) => faults.push(f.kind));
    const error = await c.call('whoami', {}, { deadlineMs: 300 }).then(() => undefined, (e: { code: string }) => e);
    expect(['FENCED', 'DEADLINE_EXCEEDED']).to.include(error?.code);
    expect(faults).to.include('stale-epoch');
    // A number that merely arrives in a response does not raise the fence (issue 14.5).
    stamp = 2 ** 52;
    expect((await c.callWithInfo('whoami')).epoch).to.equal(2 ** 52);
    expect(c.epoch).to.equal(own.sequence);
    stamp = own.sequence;
    expect((await c.callWithInfo('whoami')).epoch).to.equal(own.sequence);
  });

  describe('static stability (own 3-node ensemble)', () => {
    let zk: ZkCluster;
    before(async () => { zk = await startZooKeeper({ nodes: 3 }); });
    after(async () => { await zk?.close(); });

    it('ZooKeeper quorum lost: redundant clients keep calling the known members', async () => {
      const root = uniqueRoot('static');
      const ws: Worker[] = [];
      for (let i = 0; i < 3; i++) {
        const w = await startServer({ connect: zk.connectString, root, service: 'st', mode: 'redundant', id: `s${i + 1}`, sessionTimeoutMs: 4000 });
        ws.push(w);
        workers.push(w);
      }
      const c = new HaClient({ zk: { connect: zk.connectString, sessionTimeoutMs: 4000 }, service: 'st', root, deadlineMs: 2000,
        connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600 } });
      clients.push(c);
      await c.start();
      await sleep(300);
      await zk.dropQuorum();
      await sleep(500);
      const load = new Load((id) => c.callWithInfo('whoami', { callId: id }).then((r) => ({ epoch: r.epoch, member: r.member })));
      await sleep(5000); // past the session timeout: sessions are lost, the view is not
      await load.stop();
      expect(c.view.snapshot.members, 'the view during the outage').to.have.length(3);
      await zk.regainQuorum();
      expect(load.failed).to.have.length(0);
      expect(new Set(load.ok.map((r) => r.member))).to.deep.equal(new Set(['s1', 's2', 's3']));
      // Members rejoined on new sessions; their old nodes go when ZooKeeper expires the old sessions.
      await eventually('the view converges on the three rejoined members', () =>
        c.view.snapshot.members.length === 3 && new Set(c.view.snapshot.members.map((m) => m.record.id)).size === 3, 20000);
      expect((await c.callWithInfo('whoami')).member).to.match(/^s[123]$/);
    });
  });
});
