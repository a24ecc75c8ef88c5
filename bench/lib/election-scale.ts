// bench:scale, elections: who ZooKeeper wakes when leadership changes hands, and what the candidates
// read in steady state, for zk-ha's Election next to a naive watch-all-children election.
import { Election, Membership } from '../../lib/coordination';
import { ZkError, ZkSession } from '../../lib/zk';
import { sleep } from './clock';
import { round1 } from './stats';
import { markdownTable } from './table';

/** Long: idle sessions must not expire while the bench measures change traffic. */
const SESSION_MS = 30000;
/** Election's default lease: the period everything below scales with. */
export const LEASE_MS = 500;
/** At least the longest listing period ((N − 3) leases), so that every member's timer counts at its rate. */
const steadyWindowMs = (n: number): number => Math.max(20, n - 2) * LEASE_MS;

/** Per leader change (means over the changes). */
export interface ChangeCounts {
  /** Remaining candidates whose election was told of the change by ZooKeeper (Election.stats.notified rose; naive: its watch fired). */
  candidatesNotified: number;
  /** Those notifications, summed. */
  notifications: number;
  /** Every ZooKeeper watch event the remaining candidates' sessions received in the window (renewals the new second follows included). */
  watchEvents: number;
}

/** Steady state, one leader serving: what the candidates read and are told, per second. */
export interface SteadyCounts {
  readsPerSec: { total: number; second: number; third: number; behind: number };
  notificationsPerSec: { total: number; second: number; third: number; behind: number };
}

export interface ElectionScale {
  readonly candidates: number;
  readonly zkHa: ChangeCounts;
  readonly naive: ChangeCounts;
  readonly steady: SteadyCounts;
}

interface ZkHaCandidate {
  readonly session: ZkSession;
  readonly membership: Membership;
  readonly election: Election;
  leading: boolean;
}

async function startZkHa(connect: string, root: string, n: number): Promise<ZkHaCandidate[]> {
  const candidates: ZkHaCandidate[] = [];
  for (let i = 0; i < n; i++) {
    const session = new ZkSession({ connect, sessionTimeoutMs: SESSION_MS });
    await session.start();
    const membership = new Membership(session, { service: `elect-${n}`, mode: 'primary-backup', root, record: { id: `c${i}`, url: `ws://127.0.0.1:1/c${i}` } });
    const election = new Election(session, membership, { leaseMs: LEASE_MS });
    const c: ZkHaCandidate = { session, membership, election, leading: false };
    election.on('elected', () => { c.leading = true; });
    election.on('demoted', () => { c.leading = false; });
    election.start();
    await membership.register();
    candidates.push(c);
  }
  return candidates;
}

/** Reads and notifications per second by place in line, over a window with one leader serving. */
async function steadyState(candidates: readonly ZkHaCandidate[]): Promise<SteadyCounts> {
  await waitFor(() => (candidates.filter((c) => c.leading).length === 1 ? true : undefined), 20000, 'one zk-ha leader');
  await sleep(4 * LEASE_MS); // everyone has found its place
  const line = [...candidates].sort((a, b) => a.membership.node!.sequence - b.membership.node!.sequence);
  const snap = (): number[][] => line.map((c) => [c.session.stats.reads, c.session.stats.watchEvents]);
  const windowMs = steadyWindowMs(line.length);
  const before = snap();
  await sleep(windowMs);
  const after = snap();
  const perSec = (k: number, from: number, to = line.length): number =>
    round1((after.slice(from, to).reduce((s, r, i) => s + r[k]! - before[from + i]![k]!, 0) * 1000) / windowMs);
  const by = (k: number): SteadyCounts['readsPerSec'] => ({ total: perSec(k, 0), second: perSec(k, 1, 2), third: perSec(k, 2, 3), behind: perSec(k, 3) });
  return { readsPerSec: by(0), notificationsPerSec: by(1) };
}

async function zkHaChanges(candidates: ZkHaCandidate[], changes: number): Promise<ChangeCounts> {
  const total: ChangeCounts = { candidatesNotified: 0, notifications: 0, watchEvents: 0 };
  for (let change = 0; change < changes; change++) {
    const leader = await waitFor(() => (candidates.filter((c) => c.leading).length === 1 ? candidates.find((c) => c.leading) : undefined), 20000, 'one zk-ha leader');
    await sleep(2 * LEASE_MS); // the third has read the lease; those behind have listed the line
    const rest = candidates.filter((c) => c !== leader);
    const before = rest.map((c) => [c.election.stats.notified, c.session.stats.watchEvents]);
    leader.election.stop();
    await leader.membership.leave();
    await leader.session.close();
    candidates.splice(candidates.indexOf(leader), 1);
    await waitFor(() => rest.find((c) => c.leading), 20000, 'the next zk-ha leader');
    await sleep(LEASE_MS); // late notifications count too
    rest.forEach((c, i) => {
      const notified = c.election.stats.notified - before[i]![0]!;
      if (notified > 0) total.candidatesNotified++;
      total.notifications += notified;
      total.watchEvents += c.session.stats.watchEvents - before[i]![1]!;
    });
  }
  return mean(total, changes);
}

/** The textbook herd: every candidate watches the children list and re-reads it on every change. */
class NaiveCandidate {
  notifications = 0;
  leading = false;
  node = '';
  private closed = false;

  constructor(readonly session: ZkSession, private readonly dir: string) {}

  async join(): Promise<void> {
    const path = await this.session.create(`${this.dir}/c-`, '', { mode: 'ephemeral-sequential' });
    this.node = path.slice(this.dir.length + 1);
    await this.check();
  }

  private async check(): Promise<void> {
    if (this.closed) return;
    try {
      const { children } = await this.session.children(this.dir, {
        watch: () => {
          this.notifications++;
          void this.check();
        },
      });
      this.leading = [...children].sort()[0] === this.node;
    } catch (error) {
      if (!(error instanceof ZkError && error.code === 'CLOSED')) throw error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.session.close();
  }
}

async function naiveChanges(connect: string, root: string, n: number, changes: number): Promise<ChangeCounts> {
  const dir = `${root}/naive-${n}`;
  const candidates: NaiveCandidate[] = [];
  const total: ChangeCounts = { candidatesNotified: 0, notifications: 0, watchEvents: 0 };
  try {
    for (let i = 0; i < n; i++) {
      const session = new ZkSession({ connect, sessionTimeoutMs: SESSION_MS });
      await session.start();
      if (i === 0) await session.mkdirp(dir);
      const c = new NaiveCandidate(session, dir);
      await c.join();
      candidates.push(c);
    }
    for (let change = 0; change < changes; change++) {
      const leader = await waitFor(() => (candidates.filter((c) => c.leading).length === 1 ? candidates.find((c) => c.leading) : undefined), 20000, 'one naive leader');
      await sleep(300);
      const rest = candidates.filter((c) => c !== leader);
      const before = rest.map((c) => [c.notifications, c.session.stats.watchEvents]);
      await leader.close();
      candidates.splice(candidates.indexOf(leader), 1);
      await waitFor(() => rest.find((c) => c.leading), 20000, 'the next naive leader');
      await sleep(LEASE_MS);
      rest.forEach((c, i) => {
        const notified = c.notifications - before[i]![0]!;
        if (notified > 0) total.candidatesNotified++;
        total.notifications += notified;
        total.watchEvents += c.session.stats.watchEvents - before[i]![1]!;
      });
    }
    return mean(total, changes);
  } finally {
    await Promise.all(candidates.map((c) => c.close()));
  }
}

/** n zk-ha candidates (steady state, then `changes` leader changes), and as many naive ones. */
export async function measureElections(connect: string, root: string, n: number, changes: number): Promise<ElectionScale> {
  const candidates = await startZkHa(connect, root, n);
  let steady: SteadyCounts;
  let zkHa: ChangeCounts;
  try {
    steady = await steadyState(candidates);
    zkHa = await zkHaChanges(candidates, changes);
  } finally {
    for (const c of candidates) c.election.stop();
    await Promise.all(candidates.map((c) => c.session.close()));
  }
  return { candidates: n, zkHa, naive: await naiveChanges(connect, root, n, changes), steady };
}

/** H(n − 3) listings per lease by those behind the third (each lists again after (place − 2) leases). */
function expectedListingsPerSec(n: number): number {
  let h = 0;
  for (let k = 1; k <= n - 3; k++) h += 1 / k;
  return (h * 1000) / LEASE_MS;
}

/** The table, the targets and the method, as markdown (and the target lines for the console). */
export function electionsReport(results: readonly ElectionScale[], changes: number): { markdown: string; checks: string[] } {
  const changeHeaders = ['candidates', 'zk-ha candidates notified', 'zk-ha notifications', 'zk-ha watch events (window)', 'naive candidates notified', 'naive watch events'];
  const changeRows = results.map((r) => [r.candidates, r.zkHa.candidatesNotified, r.zkHa.notifications, r.zkHa.watchEvents, r.naive.candidatesNotified, r.naive.watchEvents]);
  const steadyHeaders = ['candidates', 'reads/s all', 'second', 'third', 'behind the third', 'expected behind (H(N−3)/lease)', 'notifications/s all', 'second', 'third', 'behind'];
  const steadyRows = results.map((r) => [r.candidates, r.steady.readsPerSec.total, r.steady.readsPerSec.second, r.steady.readsPerSec.third, r.steady.readsPerSec.behind,
    round1(expectedListingsPerSec(r.candidates)), r.steady.notificationsPerSec.total, r.steady.notificationsPerSec.second, r.steady.notificationsPerSec.third, r.steady.notificationsPerSec.behind]);
  const checks = results.flatMap((r) => [
    `${r.zkHa.candidatesNotified <= 1 ? 'MET ' : 'MISS'} ${r.candidates} candidates: ${r.zkHa.candidatesNotified} candidates notified per leader change (target 1 whatever the group size; naive: ${r.naive.candidatesNotified})`,
    `${r.steady.notificationsPerSec.total === r.steady.notificationsPerSec.second ? 'MET ' : 'MISS'} ${r.candidates} candidates, steady state: renewals notify the second in line only (${r.steady.notificationsPerSec.second}/s there, ${round1(r.steady.notificationsPerSec.total - r.steady.notificationsPerSec.second)}/s elsewhere)`,
  ]);
  const markdown = `Per leader change (mean of ${changes} changes; the leader stops, leaves the line and closes its session; lease ${LEASE_MS} ms):

${markdownTable(changeHeaders, changeRows)}

Steady state, one leader renewing every ~${Math.round(LEASE_MS / 3)} ms (a window of max(20, N − 2) leases — ${results.map((r) => `${steadyWindowMs(r.candidates) / 1000} s with ${r.candidates}`).join(', ')}; ZooKeeper reads and watch notifications per second, by place in line):

${markdownTable(steadyHeaders, steadyRows)}

${checks.map((c) => `- ${c}`).join('\n')}

**Method.** zk-ha candidates are \`Election\`s (lease ${LEASE_MS} ms), each on its own \`ZkSession\` in the bench process.
"Candidates notified" counts the remaining candidates whose \`election.stats.notified\` rose during the change: a
ZooKeeper notification that a member node ahead of them changed or went (their predecessor's, or — second in line — the
head's); lease-node events (renewals, the new head's lease appearing) are not in it. "Watch events (window)" is every
watch event the remaining candidates' sessions received from the leader's exit until one lease after the next leader
was elected — it includes the renewals of the new head that the new second in line (the former third, which read the
old head's end on its timer) follows from then on. The naive election is implemented in the bench: every candidate
sets a children watch on the election node and re-reads it on every notification, so N−1 wake per change. Steady-state
reads are \`ZkSession.stats.reads\` (session lease probes are writes, not counted): the second re-reads the lease after
each renewal notification (and nothing else: a lease event does not make it list the line again), the third reads the head's lease and member nodes once a lease (two \`exists\`, no watch), and
each member further back, at 0-based place k, lists the line again after (k − 2) leases (expected: H(N − 3) listings per
lease in all).`;
  return { markdown, checks };
}

function mean(c: ChangeCounts, n: number): ChangeCounts {
  return { candidatesNotified: round2(c.candidatesNotified / n), notifications: round2(c.notifications / n), watchEvents: round2(c.watchEvents / n) };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(5);
  }
}
