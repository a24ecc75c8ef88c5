/**
 * Election (issue 3) against a real ZooKeeper, with every candidate whose process takes a fault
 * (SIGKILL, SIGSTOP, a stalled event loop) running as a real child process (candidate-worker.ts).
 * Workers log elected / demoted / act with process.hrtime.bigint(); the tests merge the logs.
 */
import { expect } from 'chai';
import { TcpProxy, type ZkCluster } from './harness';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { Worker, type WorkerEvent } from './support/worker';
import { eventually, sleep, uniqueRoot, within } from './support/wait';
import { Sessions } from './support/sessions';
import { Election, Membership, MembershipView } from '../lib/coordination';
import type { DemotionReason } from '../lib/coordination';
import { ZkSession } from '../lib/zk';

const SESSION_MS = 1000;
const INF = BigInt(Number.MAX_SAFE_INTEGER) * 1000n;

const t = (e: WorkerEvent): bigint => BigInt(e.t as string);
/** When an act's leadership check ran (the worker stamps it before checking; see candidate-worker.ts). */
const actAt = (e: WorkerEvent): bigint => BigInt((e.checkedAt ?? e.t) as string);
const epochOf = (e: WorkerEvent): number => e.epoch as number;

/** True while the worker's latest elected/demoted event is an election. */
function leading(w: Worker): boolean {
  const last = w.events.filter((e) => e.event === 'elected' || e.event === 'demoted').at(-1);
  return last?.event === 'elected';
}

function lastSequence(w: Worker): number | undefined {
  return w.of('registered').at(-1)?.sequence as number | undefined;
}

/** Notifications of a member node ahead of the candidate changing or going (Election.stats.notified). */
async function notified(w: Worker): Promise<number> {
  const n = w.of('stats').length;
  w.send({ cmd: 'stats' });
  const e = await w.waitFor('stats', n + 1, 5000);
  return e.notified as number;
}

interface Interval { who: string; epoch: number; start: bigint; end: bigint }

/** Leadership intervals from elected/demoted logs; a SIGKILLed leader's interval ends at its kill time. */
function leadershipIntervals(workers: readonly Worker[], killedAt: ReadonlyMap<Worker, bigint>): Interval[] {
  const out: Interval[] = [];
  workers.forEach((w, i) => {
    let open: WorkerEvent | undefined;
    for (const e of w.events) {
      if (e.event === 'elected') open = e;
      if (e.event === 'demoted' && open) {
        out.push({ who: `w${i}`, epoch: epochOf(open), start: t(open), end: t(e) });
        open = undefined;
      }
    }
    if (open) out.push({ who: `w${i}`, epoch: epochOf(open), start: t(open), end: killedAt.get(w) ?? INF });
  });
  return out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

function expectDisjoint(intervals: readonly Interval[], what: string): void {
  for (let i = 1; i < intervals.length; i++) {
    const prev = intervals[i - 1]!;
    const cur = intervals[i]!;
    expect(cur.start > prev.end, `${what}: ${cur.who} (epoch ${cur.epoch}) starts before ${prev.who} (epoch ${prev.epoch}) ends`).to.equal(true);
  }
}

/** Per epoch, the span from its first to its last `act` across all workers. */
function actIntervals(workers: readonly Worker[]): Interval[] {
  const byEpoch = new Map<number, Interval>();
  workers.forEach((w, i) => {
    for (const e of w.of('act')) {
      const at = actAt(e);
      const cur = byEpoch.get(epochOf(e));
      if (!cur) byEpoch.set(epochOf(e), { who: `w${i}`, epoch: epochOf(e), start: at, end: at });
      else {
        expect(cur.who, `epoch ${epochOf(e)} acted on by two workers`).to.equal(`w${i}`);
        if (at < cur.start) cur.start = at;
        if (at > cur.end) cur.end = at;
      }
    }
  });
  return [...byEpoch.values()].sort((a, b) => (a.start < b.start ? -1 : 1));
}

describe('coordination: Election (real ZooKeeper, candidates as child processes)', function () {
  this.timeout(90000);
  let zk: ZkCluster;
  const workers: Worker[] = [];
  const sessions = new Sessions(() => ({ connect: zk.connectString, sessionTimeoutMs: 4000 }));
  const proxies: TcpProxy[] = [];

  function candidate(root: string, id: string, timeoutMs = SESSION_MS): Worker {
    const w = new Worker('candidate-worker.ts', [zk.connectString, root, 'svc', String(timeoutMs), id]);
    workers.push(w);
    return w;
  }
  const open = (connect = zk.connectString, sessionTimeoutMs = 4000): Promise<ZkSession> => sessions.open({ connect, sessionTimeoutMs });
  const problems = (): string =>
    workers.flatMap((w) => [...w.events.filter((e) => /error|failed/.test(e.event)).map((e) => JSON.stringify(e)), ...w.stderr.slice(-3)]).join('\n');

  before(async () => { zk = await sharedZooKeeper(); });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    for (const p of proxies.splice(0)) await p.close();
    await sessions.closeAll();
  });

  it('5 candidates: exactly one leader; SIGKILL it: the next in line leads and is the only candidate notified (never N)', async () => {
    const root = uniqueRoot();
    const ws = Array.from({ length: 5 }, (_, i) => candidate(root, `c${i}`));
    await Promise.all(ws.map((w) => w.waitFor('registered')));
    await eventually('one leader', () => ws.filter(leading).length === 1);
    await sleep(300);
    expect(ws.filter(leading), problems()).to.have.length(1);
    const line = [...ws].sort((a, b) => lastSequence(a)! - lastSequence(b)!);
    const [leader, next] = [line[0]!, line[1]!];
    expect(leading(leader), 'the lowest sequence leads').to.equal(true);
    expect(epochOf(leader.of('elected')[0]!)).to.equal(lastSequence(leader));
    const survivors = line.slice(1);
    const before = await Promise.all(survivors.map(notified));
    await leader.kill();
    const elected = await next.waitFor('elected', 1, 15000);
    expect(epochOf(elected)).to.equal(lastSequence(next)).and.be.greaterThan(lastSequence(leader)!);
    await sleep(1000); // every notification of that one departure has arrived by now, and the third has read it
    const after = await Promise.all(survivors.map(notified));
    // The successor hears of the head's end (its own takeover, here); the third reads it on its
    // timer, those behind list the line again on theirs: neither is notified.
    const woken = survivors.filter((_, i) => after[i]! > before[i]!).map((w) => line.indexOf(w));
    expect(woken, 'places in line (before the change) of the candidates notified of it').to.deep.equal([1]);
    expect(survivors.filter(leading)).to.deep.equal([next]);
  });

  it('20 successive failovers (SIGKILL, resign, leave): epochs strictly increase, leadership intervals never overlap', async () => {
    const root = uniqueRoot();
    let serial = 0;
    const killedAt = new Map<Worker, bigint>();
    const gone = new Set<Worker>();
    const spawn = (): Worker => candidate(root, `c${serial++}`);
    const candidates = (): Worker[] => workers.filter((w) => !gone.has(w) && w.of('registered').length > 0);
    for (let i = 0; i < 4; i++) spawn();
    let lastEpoch = -1;
    const causes: string[] = [];
    for (let round = 0; round < 20; round++) {
      await eventually(`round ${round}: 3 candidates and one leader with a new epoch`, () => {
        const c = candidates();
        const leaders = c.filter(leading);
        return c.length >= 3 && leaders.length === 1 && epochOf(leaders[0]!.of('elected').at(-1)!) > lastEpoch;
      }, 20000).catch((e: Error) => { throw new Error(`${e.message}\n${problems()}`); });
      const leader = candidates().find(leading)!;
      lastEpoch = epochOf(leader.of('elected').at(-1)!);
      const cause = ['kill', 'resign', 'leave'][round % 3]!;
      causes.push(cause);
      if (cause === 'kill') {
        killedAt.set(leader, process.hrtime.bigint());
        gone.add(leader);
        await leader.kill();
        spawn();
      } else if (cause === 'resign') {
        leader.send({ cmd: 'resign' });
        await leader.waitFor('demoted', leader.of('demoted').length + 1, 5000);
      } else {
        gone.add(leader);
        leader.send({ cmd: 'leave' });
        await leader.waitFor('left', 1, 5000);
        await leader.kill();
        spawn();
      }
    }
    await eventually('a leader after the last failover', () => {
      const leaders = candidates().filter(leading);
      return leaders.length === 1 && epochOf(leaders[0]!.of('elected').at(-1)!) > lastEpoch;
    }, 20000);

    const elected = workers.flatMap((w) => w.of('elected')).sort((a, b) => (t(a) < t(b) ? -1 : 1));
    expect(elected.length, 'one election per failover, plus the first').to.be.at.least(21);
    for (let i = 1; i < elected.length; i++) {
      expect(epochOf(elected[i]!), `epoch of election ${i}`).to.be.greaterThan(epochOf(elected[i - 1]!));
    }
    const intervals = leadershipIntervals(workers, killedAt);
    expectDisjoint(intervals, 'leadership');
    expect(intervals.filter((i) => i.end === INF), 'exactly one leader holds at the end').to.have.length(1);
    const reasons = workers.flatMap((w) => w.of('demoted').map((e) => e.reason as DemotionReason));
    expect(reasons.filter((r) => r === 'resigned').length).to.be.at.least(13); // 7 resign + 7 leave (6 + 7)
    expect(causes.filter((c) => c === 'kill')).to.have.length(7);
  });

  for (const fault of ['SIGSTOP', 'busy'] as const) {
    const title = fault === 'SIGSTOP' ? 'the leader frozen with SIGSTOP past its session timeout, then SIGCONT'
      : 'the leader\'s event loop stalled past its session timeout';
    it(`${title}: demoted before it could act again; another was elected meanwhile; acts of different epochs never overlap`, async () => {
      const root = uniqueRoot();
      const ws = Array.from({ length: 3 }, (_, i) => candidate(root, `c${i}`));
      await eventually('one leader', () => ws.filter(leading).length === 1, 20000);
      const leader = ws.find(leading)!;
      const others = ws.filter((w) => w !== leader);
      const epoch = epochOf(leader.of('elected').at(-1)!);
      await leader.waitFor('act', 3); // it does act while it leads
      let resumedAt: bigint;
      let frozeAt: bigint;
      if (fault === 'SIGSTOP') {
        frozeAt = process.hrtime.bigint();
        leader.signal('SIGSTOP');
        await eventually('another candidate elected during the freeze', () => others.some(leading), 20000);
        await sleep(200);
        resumedAt = process.hrtime.bigint();
        leader.signal('SIGCONT');
      } else {
        leader.send({ cmd: 'busy', ms: SESSION_MS * 3 });
        frozeAt = t(await leader.waitFor('busy-start'));
        resumedAt = t(await leader.waitFor('busy-end', 1, 20000));
      }
      const demoted = await leader.waitFor('demoted', 1, 15000, (e) => epochOf(e) === epoch);
      const rejoined = await leader.waitFor('registered', 2, 15000);
      expect(rejoined.sequence as number, 'rejoins at the back').to.be.greaterThan(epoch);
      // Its successor removed its node (takeover) or its session expired meanwhile.
      expect(['session', 'deleted', 'resign']).to.include(rejoined.reason);
      const successor = others.flatMap((w) => w.of('elected')).find((e) => epochOf(e) > epoch);
      expect(successor, 'another candidate was elected').to.not.equal(undefined);
      expect(t(successor!) > frozeAt && t(successor!) < resumedAt, 'elected while the old leader was frozen').to.equal(true);
      await sleep(300);
      const staleActs = leader.of('act').filter((e) => epochOf(e) === epoch && actAt(e) > resumedAt);
      expect(staleActs, 'acts on the old epoch after resuming').to.deep.equal([]);
      const actsAfterResume = leader.of('act').filter((e) => actAt(e) > resumedAt);
      for (const a of actsAfterResume) expect(actAt(a) > t(demoted), 'acts again only after reporting demoted').to.equal(true);
      expectDisjoint(actIntervals(ws), 'acting');
    });
  }

  it('cut off from ZooKeeper (blackhole): the leader stops serving when its lease runs out, before anyone else is elected', async () => {
    const root = uniqueRoot();
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.nodes[0]!.clientPort });
    proxies.push(proxy);
    const cutSession = await open(proxy.address, 2000);
    const otherSession = await open(zk.connectString, 2000);
    const a = new Membership(cutSession, { service: 'svc', mode: 'primary-backup', root, record: { id: 'a', url: 'ws://127.0.0.1:1/a' } });
    const b = new Membership(otherSession, { service: 'svc', mode: 'primary-backup', root, record: { id: 'b', url: 'ws://127.0.0.1:1/b' } });
    const ea = new Election(cutSession, a);
    const eb = new Election(otherSession, b);
    const log: string[] = [];
    ea.on('elected', () => log.push('a:elected'));
    ea.on('demoted', (d) => log.push(`a:demoted:${d.reason}`));
    eb.on('elected', () => log.push('b:elected'));
    ea.start();
    await a.register();
    eb.start();
    await b.register();
    await eventually('a leads', () => ea.isLeader());
    // The lease lapses (a pauses) before b may take over; a is demoted for good once it hears "refused" or its session ends.
    const lapse = setInterval(() => {
      if (!ea.isLeader() && !log.includes('a:lapsed')) log.push('a:lapsed');
    }, 2);
    proxy.blackhole();
    await eventually('b elected', () => log.includes('b:elected'), 15000);
    clearInterval(lapse);
    expect(log[0]).to.equal('a:elected');
    expect(log[1], log.join(', ')).to.equal('a:lapsed');
    expect(log.indexOf('b:elected')).to.be.greaterThan(1);
    expect(ea.isLeader()).to.equal(false);
    ea.stop();
    eb.stop();
  });

  it('leader only if ephemeralOwner is the current session; observers get "leader" events from MembershipView', async () => {
    const root = uniqueRoot();
    const s = await open();
    const m = new Membership(s, { service: 'svc', mode: 'primary-backup', root, record: { id: 'x', url: 'ws://127.0.0.1:1/x' } });
    const own = await m.register();
    const realExists = s.exists.bind(s);
    // The stat says the node belongs to another session (a stale node of an earlier session).
    s.exists = async (path, opts) => {
      const stat = await realExists(path, opts);
      return stat && path === own.path ? { ...stat, ephemeralOwner: '0000000000000001' } : stat;
    };
    const fooled = new Election(s, m);
    let elected = 0;
    fooled.on('elected', () => elected++);
    fooled.start();
    await sleep(700);
    expect(elected).to.equal(0);
    expect(fooled.isLeader()).to.equal(false);
    fooled.stop();
    s.exists = realExists;

    const observer = await open();
    const view = new MembershipView(observer, 'svc', { root });
    const leaders: (number | undefined)[] = [];
    view.on('leader', (l) => leaders.push(l.epoch));
    await view.start();
    const honest = new Election(s, m);
    honest.start();
    await eventually('elected', () => honest.isLeader());
    expect(leaders).to.deep.equal([own.sequence]);
    expect(honest.epoch).to.equal(own.sequence);
    const s2 = await open();
    const m2 = new Membership(s2, { service: 'svc', mode: 'primary-backup', root, record: { id: 'y', url: 'ws://127.0.0.1:1/y' } });
    const e2 = new Election(s2, m2);
    e2.start();
    const own2 = await m2.register();
    await honest.resign({ rejoin: false });
    await eventually('y elected', () => e2.isLeader());
    await eventually('observer saw the new leader', () => leaders.length === 2);
    expect(leaders).to.deep.equal([own.sequence, own2.sequence]);
    expect(e2.epoch).to.equal(own2.sequence);
    view.stop();
    e2.stop();
    await within(5000, 'leave', m2.leave());
  });
});
