import type { ZkCluster } from '../../integration/harness';
import { Candidate, checkClock } from './candidate';
import { msBetween, nowNs, sleep } from './clock';
import { actOverlapMs, analyseLeadership, firstEvent } from './leadership';
import { candidateCommand, Peers, SystemName } from './systems';

export type Fault = 'handover' | 'sigkill' | 'sigstop' | 'zk-leader-loss';
export const FAULTS: readonly Fault[] = ['handover', 'sigkill', 'sigstop', 'zk-leader-loss'];

/** What one fault did to one election. */
export interface TrialResult {
  /** Fault → the next leader's "elected" (zk-leader-loss: → end of the last leaderless gap, 0 if none). */
  readonly unavailableMs: number;
  /** Time two processes led at once: zk-ha by `act` lines (lease-gated), peers by their own belief. */
  readonly overlapMs: number;
  /** Time two processes believed they led (elected … demoted), for every system. */
  readonly beliefOverlapMs: number;
  /** A different process leads after the fault. */
  readonly leaderChanged: boolean;
}

export interface ElectionEnv {
  readonly cluster: ZkCluster;
  readonly peers: Peers | undefined;
  readonly log: (line: string) => void;
}

const CANDIDATES = 3;
const SETTLE_MS = 300;

/**
 * A system's candidates on one election path: three processes, refilled after each trial (a
 * faulted candidate is retired — asked to leave if it is alive, then killed — and replaced by a
 * fresh one that joins at the back).
 */
export class CandidateGroup {
  readonly members: Candidate[] = [];
  private spawned = 0;

  constructor(
    private readonly env: ElectionEnv,
    readonly system: SystemName,
    private readonly electionPath: string,
    readonly sessionTimeoutMs: number,
  ) {}

  async fill(): Promise<void> {
    const fresh: Candidate[] = [];
    while (this.members.filter((c) => c.alive).length < CANDIDATES) {
      const id = `${this.system}-${++this.spawned}`;
      const c = new Candidate(this.system, id, candidateCommand(this.system, this.env.peers, this.env.cluster.connectString, this.electionPath, this.sessionTimeoutMs, id));
      this.members.push(c);
      fresh.push(c);
      // One at a time: join order is election order, so the line-up stays predictable.
      await c.waitFor((e) => e.event === 'ready' || e.event === 'registered', 60000, 'ready');
    }
    for (const c of this.members.filter((m) => !m.alive)) this.members.splice(this.members.indexOf(c), 1);
    if (this.spawned === fresh.length && fresh[0]) {
      const rtt = await checkClock(fresh[0]);
      this.env.log(`${this.system}: candidate timestamps are on the bench's CLOCK_MONOTONIC (ping round trip ${rtt.toFixed(1)} ms)`);
    }
  }

  /** Waits for exactly one leader among live, ready candidates, stable for SETTLE_MS. */
  async steady(timeoutMs = 60000): Promise<Candidate> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leaders = this.members.filter((c) => c.alive && c.leading);
      if (leaders.length === 1 && this.members.every((c) => c.ready)) {
        const lastChange = Math.max(...this.members.flatMap((c) => c.events.filter((e) => e.event === 'elected' || e.event === 'demoted').map((e) => Number(e.seenAt / 1_000_000n))));
        if (Number(nowNs() / 1_000_000n) - lastChange >= SETTLE_MS) return leaders[0]!;
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.system}: no single stable leader within ${timeoutMs} ms (leaders: ${leaders.map((c) => c.id).join(',') || 'none'})`);
      }
      await sleep(20);
    }
  }

  /**
   * Replaces a candidate after its trial. A live one (the SIGCONTed leader, back in line) leaves
   * the election first: killed outright it would leave a member node behind for a whole session
   * timeout, and the next trial would measure a dead member in line rather than its own fault.
   */
  async retire(c: Candidate): Promise<void> {
    if (c.alive) {
      c.send('leave');
      await Promise.race([c.waitFor((e) => e.event === 'left', 3000, 'left').catch(() => undefined), c.exited]);
    }
    await c.kill();
    const i = this.members.indexOf(c);
    if (i !== -1) this.members.splice(i, 1);
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((c) => c.kill()));
    this.members.length = 0;
  }

  /** Runs one fault against the current leader (or the ZooKeeper leader) and measures it. */
  async trial(fault: Fault): Promise<TrialResult> {
    const old = await this.steady();
    const others = this.members.filter((c) => c !== old);
    const to = this.sessionTimeoutMs;
    const waitMs = 3 * to + 15000;
    if (fault === 'zk-leader-loss') return this.zkLeaderLoss(old, waitMs);

    const t0 = nowNs();
    if (fault === 'handover') old.send('leave');
    else if (fault === 'sigkill') old.signal('SIGKILL');
    else old.signal('SIGSTOP');
    const next = await firstEvent(others, (e) => e.event === 'elected' && e.t >= t0, waitMs, `${this.system} elected after ${fault}`);
    if (fault === 'sigstop') {
      // Resume the stopped leader as soon as its successor is seen: from here on it is a stale
      // leader until it learns otherwise, and what it does then is what we measure.
      old.signal('SIGCONT');
      await old.waitFor((e) => e.event === 'demoted' && e.t >= t0, 2 * to + 10000, 'demoted after SIGCONT').catch((e: Error) => this.env.log(`  ${e.message}`));
      await sleep(200); // room for trailing act lines
    } else if (fault === 'handover') {
      await old.waitFor((e) => e.event === 'demoted' && e.t >= t0, 5000, 'demoted after leave').catch(() => undefined);
    }
    const end = nowNs();
    // A SIGKILLed process believes nothing any more: it cannot print its own demotion.
    const all = fault === 'sigkill' ? others : [old, ...others];
    const belief = analyseLeadership(all, t0, end).beliefOverlapMs;
    const result: TrialResult = {
      unavailableMs: msBetween(t0, next.e.t),
      overlapMs: this.system === 'zk-ha' ? actOverlapMs(all, t0) : belief,
      beliefOverlapMs: belief,
      leaderChanged: next.c !== old,
    };
    await this.retire(old);
    await this.fill();
    return result;
  }

  private async zkLeaderLoss(before: Candidate, waitMs: number): Promise<TrialResult> {
    const cluster = this.env.cluster;
    const zkLeader = await cluster.leader();
    const t0 = nowNs();
    await cluster.kill(zkLeader);
    // Watch until the election has settled: at least two session timeouts (a session that is going
    // to expire has done so), exactly one leader, and no elected/demoted line for a second.
    const minEnd = t0 + BigInt(Math.max(2 * this.sessionTimeoutMs, 3000)) * 1_000_000n;
    const hardEnd = t0 + BigInt(waitMs) * 1_000_000n;
    for (;;) {
      await sleep(50);
      const now = nowNs();
      const live = this.members.filter((c) => c.alive);
      const lastChange = live.flatMap((c) => c.events).filter((e) => e.event === 'elected' || e.event === 'demoted').reduce((m, e) => (e.seenAt > m ? e.seenAt : m), 0n);
      const leaders = live.filter((c) => c.leading).length;
      if (now >= hardEnd || (now >= minEnd && leaders === 1 && now - lastChange >= 1_000_000_000n)) break;
    }
    const end = nowNs();
    const a = analyseLeadership(this.members, t0, end);
    const result: TrialResult = {
      unavailableMs: a.leadersAtEnd.length === 0 ? msBetween(t0, end) : a.unavailableMs,
      overlapMs: this.system === 'zk-ha' ? actOverlapMs(this.members, t0) : a.beliefOverlapMs,
      beliefOverlapMs: a.beliefOverlapMs,
      leaderChanged: a.leadersAtEnd.length !== 1 || a.leadersAtEnd[0] !== before,
    };
    await cluster.restart(zkLeader);
    await cluster.waitReady();
    await this.fill();
    return result;
  }
}
