import type { Candidate, CandidateEvent } from './candidate';
import { msBetween } from './clock';

export interface LeadershipAnalysis {
  /** Fault → end of the last moment without any leader after it (0 when a leader was always present). */
  readonly unavailableMs: number;
  /** Sum of the times with no leader at all. */
  readonly leaderlessMs: number;
  /** Sum of the times at least two processes believed they led (their own elected/demoted lines). */
  readonly beliefOverlapMs: number;
  /** Candidates leading at the end of the window. */
  readonly leadersAtEnd: readonly Candidate[];
}

/**
 * Replays every candidate's own elected/demoted lines on the shared monotonic clock and measures,
 * over [from, to], when nobody led and when two or more believed they did.
 */
export function analyseLeadership(candidates: readonly Candidate[], from: bigint, to: bigint): LeadershipAnalysis {
  const leading = new Set<Candidate>();
  const changes: { c: Candidate; e: CandidateEvent }[] = [];
  for (const c of candidates) {
    let state = false;
    for (const e of c.events) {
      if (e.event !== 'elected' && e.event !== 'demoted') continue;
      if (e.t < from) state = e.event === 'elected';
      else if (e.t <= to) changes.push({ c, e });
    }
    if (state) leading.add(c);
  }
  changes.sort((a, b) => (a.e.t < b.e.t ? -1 : a.e.t > b.e.t ? 1 : 0));
  let at = from;
  let leaderless = 0;
  let overlap = 0;
  let lastGapEnd: bigint | undefined;
  const account = (until: bigint): void => {
    if (leading.size === 0) {
      leaderless += msBetween(at, until);
      lastGapEnd = until;
    }
    if (leading.size >= 2) overlap += msBetween(at, until);
    at = until;
  };
  for (const { c, e } of changes) {
    account(e.t);
    if (e.event === 'elected') leading.add(c);
    else leading.delete(c);
  }
  account(to);
  return {
    unavailableMs: lastGapEnd === undefined ? 0 : msBetween(from, lastGapEnd),
    leaderlessMs: leaderless,
    beliefOverlapMs: overlap,
    leadersAtEnd: [...leading],
  };
}

/**
 * zk-ha's candidate-worker logs `act` (with its epoch) every 20 ms while Election.isLeader() — the
 * check a primary makes before serving a call. Overlap = how long after some candidate was elected
 * with a higher epoch any other candidate still acted on a lower one (0 when none ever did).
 */
export function actOverlapMs(candidates: readonly Candidate[], from: bigint): number {
  const elections: { c: Candidate; epoch: number; t: bigint }[] = [];
  for (const c of candidates) {
    for (const e of c.events) {
      if (e.event === 'elected' && e.t >= from && typeof e.fields.epoch === 'number') elections.push({ c, epoch: e.fields.epoch, t: e.t });
    }
  }
  let worst = 0;
  for (const c of candidates) {
    for (const e of c.events) {
      if (e.event !== 'act' || e.t < from || typeof e.fields.epoch !== 'number') continue;
      const epoch = e.fields.epoch;
      for (const won of elections) {
        if (won.c !== c && won.epoch > epoch && e.t > won.t) worst = Math.max(worst, msBetween(won.t, e.t));
      }
    }
  }
  return worst;
}

/** The first event matching `match` among `candidates`, already printed or future. */
export function firstEvent(candidates: readonly Candidate[], match: (e: CandidateEvent) => boolean, timeoutMs: number, what: string): Promise<{ c: Candidate; e: CandidateEvent }> {
  return new Promise((resolve, reject) => {
    let best: { c: Candidate; e: CandidateEvent } | undefined;
    for (const c of candidates) {
      for (const e of c.events) if (match(e) && (!best || e.t < best.e.t)) best = { c, e };
    }
    if (best) {
      resolve(best);
      return;
    }
    const listeners = candidates.map((c) => {
      const on = (e: CandidateEvent): void => {
        if (!match(e)) return;
        done();
        resolve({ c, e });
      };
      c.on('event', on);
      return { c, on };
    });
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      for (const { c, on } of listeners) c.off('event', on);
    };
  });
}
