// Failover benchmark: how fast a new leader takes over after a fault, and whether two lead at once —
// zk-ha's election next to Apache Curator's LeaderLatch and kazoo's Election, all on one 3-node
// ZooKeeper ensemble, with the same session timeout and the same faults.
//   npm run bench:failover               full run: session timeouts 1000 and 4000 ms, 20 trials each
//   npm run bench:failover -- --quick    3 trials, 1000 ms only (about 2-3 minutes)
//   npm run bench:failover -- --lease    (add --systems=zk-ha --keep-peers to re-measure zk-ha only) issue 14: session 10 s, lease 500 ms; client-observed handover/SIGKILL/SIGSTOP/partition, Curator and kazoo beside (10 trials)
//   --chart=docs writes the SVG chart to docs/failover.svg (default .tmp/charts/failover.svg, git-ignored)
//   options: --out=<file> (partial runs)  --trials=N  --timeouts=1000,4000  --systems=zk-ha,curator,kazoo  --faults=handover,sigkill,sigstop,zk-leader-loss
//   --zk-gc-log=DIR  each ZooKeeper JVM logs its GC pauses and safepoints to DIR/gc-<pid>.log (to tell a JVM pause from the rest in a slow trial)
//
// Every candidate is its own process (spawnTracked: killed whatever happens) that prints JSON lines
// stamped with CLOCK_MONOTONIC; the bench stamps the fault on the same clock just before it acts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startZooKeeper, type ZkCluster } from '../integration/harness';
import { DEFAULT_DRIFT_MARGIN, DEFAULT_LEASE_MS } from '../lib/coordination/election-types';
import { flag, option, quick } from './lib/args';
import { updateDocSection } from './lib/docs';
import { chartPath, writeFailoverChart } from './lib/failover-chart';
import { ClientGroup, type ClientFault, type ClientTrial } from './lib/client-trials';
import { CandidateGroup, FAULTS, type ElectionEnv, type Fault, type TrialResult } from './lib/election-trials';
import { machine, RESULTS_DIR, writeResult } from './lib/results';
import { round1, summarize } from './lib/stats';
import { preparePeers, type Peers, type SystemName } from './lib/systems';
import { formatTable, markdownTable } from './lib/table';

/** One row of bench/results/failover.json. */
export interface ScenarioResult {
  readonly system: SystemName;
  readonly fault: ClientFault;
  readonly sessionTimeoutMs: number;
  readonly trials: number;
  readonly unavailableMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly failedCalls: number;
  /** The worst overlap over the trials (ms). */
  readonly overlapMs: number;
  /** 'election': fault → the next candidate's "elected"; no calls are made, so failedCalls = 0. */
  readonly measure: 'election' | 'client';
  readonly overlapP50Ms: number;
  /** Worst time two processes *believed* they led (zk-ha too; for zk-ha overlapMs counts acts). */
  readonly beliefOverlapMaxMs: number;
  /** Trials after which a different process led. */
  readonly leaderChanged: number;
  /** Trials that produced no leader in time (excluded from the figures). */
  readonly failedTrials: number;
  readonly samplesMs: readonly number[];
  /** measure 'client': calls made during the trials, and failed idempotent ones among failedCalls. */
  readonly calls?: number;
  readonly failedIdempotentCalls?: number;
}

const SYSTEMS: readonly SystemName[] = ['zk-ha', 'curator', 'kazoo'];
const ALL_FAULTS: readonly ClientFault[] = [...FAULTS, 'partition'];
/** zk-ha's default lease (HaServer leaseMs); the lease run uses it. */
const LEASE_MS = DEFAULT_LEASE_MS;

/** JVM flags that log every GC pause and safepoint of a ZooKeeper node to DIR (created). */
function zkGcLog(dir: string | undefined): string[] | undefined {
  if (dir === undefined) return undefined;
  const abs = path.resolve(dir);
  fs.mkdirSync(abs, { recursive: true });
  return [`-Xlog:gc,safepoint:file=${abs}/gc-%p.log:uptime`];
}
export const FAILOVER_DOC = path.join(__dirname, '..', 'docs', 'performance-failover.md');

interface BenchContext {
  readonly env: ElectionEnv;
  readonly runId: string;
  /** One group of candidates per (system, session timeout), reused across faults. */
  readonly groups: Map<string, CandidateGroup>;
}

let context: BenchContext | undefined;

function currentContext(): BenchContext {
  if (!context) throw new Error('failover bench context not started');
  return context;
}

async function groupFor(system: SystemName, sessionTimeoutMs: number): Promise<CandidateGroup> {
  const ctx = currentContext();
  const key = `${system}/${sessionTimeoutMs}`;
  let group = ctx.groups.get(key);
  if (!group) {
    // Only one system's candidates run at a time: the others would only add noise on 2 cores.
    for (const [k, g] of ctx.groups) {
      await g.close();
      ctx.groups.delete(k);
    }
    group = new CandidateGroup(ctx.env, system, `/bench-failover-${ctx.runId}/${system}-${sessionTimeoutMs}`, sessionTimeoutMs);
    ctx.groups.set(key, group);
    await group.fill();
  }
  return group;
}

/** Runs `trials` faults on one system's election and summarises them (election-level measure). */
async function runElectionScenario(system: SystemName, fault: Fault, sessionTimeoutMs: number, trials: number): Promise<ScenarioResult> {
  const group = await groupFor(system, sessionTimeoutMs);
  const results: TrialResult[] = [];
  let failed = 0;
  for (let i = 0; i < trials; i++) {
    try {
      const r = await group.trial(fault);
      results.push(r);
      currentContext().env.log(`  ${system} ${fault} ${sessionTimeoutMs} ms #${i + 1}: ${r.unavailableMs.toFixed(1)} ms, overlap ${r.overlapMs.toFixed(1)} ms${r.leaderChanged ? '' : ' (same leader)'}`);
    } catch (error) {
      failed++;
      currentContext().env.log(`  ${system} ${fault} #${i + 1} FAILED: ${(error as Error).message}`);
      // Start the next trial from a clean group.
      await group.close();
      currentContext().groups.delete(`${system}/${sessionTimeoutMs}`);
      await currentContext().env.cluster.regainQuorum().catch(() => undefined);
      await groupFor(system, sessionTimeoutMs).catch(() => undefined);
    }
  }
  return summariseScenario(system, fault, sessionTimeoutMs, results, failed, 'election');
}

function summariseScenario(system: SystemName, fault: Fault, sessionTimeoutMs: number, results: readonly TrialResult[], failedTrials: number, measure: 'election' | 'client'): ScenarioResult {
  const unavailable = summarize(results.map((r) => r.unavailableMs));
  const overlap = summarize(results.map((r) => r.overlapMs));
  return {
    system,
    fault,
    sessionTimeoutMs,
    trials: results.length,
    unavailableMs: { p50: round1(unavailable.p50), p99: round1(unavailable.p99), max: round1(unavailable.max) },
    failedCalls: 0,
    overlapMs: round1(results.length ? overlap.max : Number.NaN),
    measure,
    overlapP50Ms: round1(overlap.p50),
    beliefOverlapMaxMs: round1(results.length ? Math.max(...results.map((r) => r.beliefOverlapMs)) : Number.NaN),
    leaderChanged: results.filter((r) => r.leaderChanged).length,
    failedTrials,
    samplesMs: results.map((r) => round1(r.unavailableMs)),
  };
}

/**
 * zk-ha's scenarios plug in here. Today: the election layer (lib/coordination Election in
 * child-process candidates, integration/workers/candidate-worker.ts), time from the fault to the
 * next candidate's "elected", overlap from the lease-gated `act` lines.
 *
 * The client-observed measurement (HaServer + HaClient: unavailability as calls see it, failed
 * calls) belongs here as a second row with `measure: 'client'`, next to the election row.
 */
export async function runZkHaScenario(fault: ClientFault, sessionTimeoutMs: number, trials: number): Promise<ScenarioResult[]> {
  // A primary↔ZooKeeper partition needs the servers' proxies: measured as the client sees it only.
  if (fault === 'partition') return [await runClientScenario(fault, sessionTimeoutMs, trials)];
  const election = await runElectionScenario('zk-ha', fault, sessionTimeoutMs, trials);
  return [election, await runClientScenario(fault, sessionTimeoutMs, trials)];
}

/** zk-ha as a client sees it: HaServer processes, HaClient under load (bench/lib/client-trials.ts). */
async function runClientScenario(fault: ClientFault, sessionTimeoutMs: number, trials: number): Promise<ScenarioResult> {
  const ctx = currentContext();
  for (const [k, g] of ctx.groups) {
    await g.close();
    ctx.groups.delete(k);
  }
  const group = new ClientGroup(ctx.env.cluster, `/bench-failover-${ctx.runId}/client-${fault}-${sessionTimeoutMs}`, sessionTimeoutMs);
  const results: ClientTrial[] = [];
  let failedTrials = 0;
  try {
    for (let i = 0; i < trials; i++) {
      try {
        const r = await group.trial(fault);
        results.push(r);
        ctx.env.log(`  zk-ha client ${fault} ${sessionTimeoutMs} ms #${i + 1}: ${r.unavailableMs.toFixed(1)} ms (new primary elected after ${r.electedMs?.toFixed(1) ?? '?'} ms), ${r.failedCalls}/${r.calls} calls failed (${r.failedIdempotent} idempotent)`);
      } catch (error) {
        failedTrials++;
        ctx.env.log(`  zk-ha client ${fault} #${i + 1} FAILED: ${(error as Error).message}`);
        await ctx.env.cluster.regainQuorum().catch(() => undefined);
      }
    }
  } finally {
    await group.close();
  }
  const u = summarize(results.map((r) => r.unavailableMs));
  return {
    system: 'zk-ha',
    fault,
    sessionTimeoutMs,
    trials: results.length,
    unavailableMs: { p50: round1(u.p50), p99: round1(u.p99), max: round1(u.max) },
    failedCalls: results.reduce((n, r) => n + r.failedCalls, 0),
    overlapMs: 0,
    measure: 'client',
    overlapP50Ms: 0,
    beliefOverlapMaxMs: 0,
    leaderChanged: results.filter((r) => r.primaryChanged).length,
    failedTrials,
    samplesMs: results.map((r) => round1(r.unavailableMs)),
    calls: results.reduce((n, r) => n + r.calls, 0),
    failedIdempotentCalls: results.reduce((n, r) => n + r.failedIdempotent, 0),
  };
}

async function runPeerScenario(system: 'curator' | 'kazoo', fault: Fault, sessionTimeoutMs: number, trials: number): Promise<ScenarioResult[]> {
  return [await runElectionScenario(system, fault, sessionTimeoutMs, trials)];
}

function list<T extends string>(name: string, all: readonly T[], fallback: readonly T[]): T[] {
  const raw = option(name);
  if (!raw) return [...fallback];
  const picked = raw.split(',') as T[];
  const bad = picked.filter((p) => !all.includes(p));
  if (bad.length) throw new Error(`--${name}: unknown ${bad.join(', ')} (choose from ${all.join(', ')})`);
  return picked;
}

function verdicts(rows: readonly ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const z of rows.filter((r) => r.system === 'zk-ha' && r.measure === 'election')) {
    for (const peer of ['curator', 'kazoo'] as const) {
      const p = rows.find((r) => r.system === peer && r.fault === z.fault && r.sessionTimeoutMs === z.sessionTimeoutMs);
      if (!p || !z.trials || !p.trials) continue;
      // Within 5 % or 10 ms counts as "as fast": the trials are few and the machine is noisy.
      const met = z.unavailableMs.p50 <= Math.max(p.unavailableMs.p50 * 1.05, p.unavailableMs.p50 + 10);
      out.push(`${met ? 'MET ' : 'MISS'} ${z.fault} @${z.sessionTimeoutMs} ms: zk-ha p50 ${z.unavailableMs.p50} ms vs ${peer} ${p.unavailableMs.p50} ms (target: at least as fast)`);
    }
    if (z.fault === 'sigstop') out.push(`${z.overlapMs === 0 ? 'MET ' : 'MISS'} sigstop @${z.sessionTimeoutMs} ms: zk-ha acting overlap ${z.overlapMs} ms (target 0)`);
  }
  for (const c of rows.filter((r) => r.system === 'zk-ha' && r.measure === 'client' && r.trials > 0)) {
    if (c.fault === 'handover') {
      const met = c.unavailableMs.p99 <= 50 && c.failedCalls === 0;
      out.push(`${met ? 'MET ' : 'MISS'} handover @${c.sessionTimeoutMs} ms: client-observed p99 ${c.unavailableMs.p99} ms, ${c.failedCalls} failed calls (target p99 <= 50 ms, 0 failed)`);
    }
    if (c.fault !== 'handover' && c.fault !== 'zk-leader-loss' && c.sessionTimeoutMs >= 10 * LEASE_MS) {
      // The lease target (issue 14): about one lease, whatever the session timeout.
      const target = 1.25 * LEASE_MS + 50;
      const met = c.unavailableMs.p99 <= target;
      out.push(`${met ? 'MET ' : 'MISS'} ${c.fault} @${c.sessionTimeoutMs} ms: client-observed p99 ${c.unavailableMs.p99} ms (target <= 1.25 x lease + 50 = ${target} ms); ${c.failedCalls} failed calls, ${c.failedIdempotentCalls ?? 0} idempotent`);
    } else if (c.fault === 'sigkill') {
      const met = c.unavailableMs.p99 <= c.sessionTimeoutMs + 150;
      out.push(`${met ? 'MET ' : 'MISS'} sigkill @${c.sessionTimeoutMs} ms: client-observed p99 ${c.unavailableMs.p99} ms (target <= session timeout + 150 = ${c.sessionTimeoutMs + 150} ms); ${c.failedCalls} failed calls, ${c.failedIdempotentCalls ?? 0} idempotent`);
    }
  }
  return out;
}

const HEADERS = ['system', 'measure', 'fault', 'timeout ms', 'trials', 'p50 ms', 'p99 ms', 'max ms', 'overlap max ms', 'leader changed', 'failed calls', 'failed trials'];
function tableRows(rows: readonly ScenarioResult[]): (string | number)[][] {
  return rows.map((r) => [r.system, r.measure, r.fault, r.sessionTimeoutMs, r.trials, r.unavailableMs.p50, r.unavailableMs.p99, r.unavailableMs.max, r.overlapMs, `${r.leaderChanged}/${r.trials}`, r.measure === 'client' ? `${r.failedCalls}/${r.calls ?? 0}` : '-', r.failedTrials]);
}

type PeerVersions = Pick<Peers, 'curatorVersion' | 'kazooVersion' | 'javaVersion'>;

function leaseDocSection(rows: readonly ScenarioResult[], checks: readonly string[], trials: number, peers: PeerVersions | undefined, cluster: Pick<ZkCluster, 'connectString'>): string {
  const m = machine();
  return `# Failover with the lease (issue 14)

\`npm run bench:failover -- --lease\` — ${new Date().toISOString()}, ${trials} trials per cell.
Machine: ${m.cpus}, ${m.cores} cores (shared with other jobs: noisy), ${m.memGiB} GiB, ${m.os}, Node ${m.node}; ZooKeeper 3.8
(Debian), 3-node ensemble on loopback (tickTime 100 ms, ${cluster.connectString})${peers ? `; Curator ${peers.curatorVersion} (${peers.javaVersion}); kazoo ${peers.kazooVersion}` : ''}.
zk-ha defaults: lease ${LEASE_MS} ms, drift margin ${DEFAULT_DRIFT_MARGIN}; every system at the same ZooKeeper session timeout.
Load average (1/5/15 min) when the run ended: ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (${m.cores} cores).

${markdownTable(HEADERS, tableRows(rows))}

${checks.map((c) => `- ${c}`).join('\n')}

**What is measured.** *client* rows: three \`HaServer\` processes, each reaching the ensemble through its own
TCP proxies (run in a process of their own, not on the measured client's event loop), and an \`HaClient\` in the bench process under steady load (two loops of an idempotent call, two
of a non-idempotent one). Unavailability = fault → the first call answered by the new primary (a higher
epoch), as the client saw it. *election* rows: three candidate processes per system (zk-ha \`Election\`,
Curator \`LeaderLatch\`, kazoo \`Election\`); time = fault → the next candidate's \`elected\` line, all stamped
on CLOCK_MONOTONIC. Faults: **handover** = \`stepDown()\` (zk-ha only in client rows; timed from the moment
\`stepDown()\` is called in the server process, as its worker stamps it — the bench's stdin command takes 1–15 ms
to get there on a loaded machine; the election row is timed from the bench's command); **sigkill** / **sigstop**
of the primary process; **partition** = every ZooKeeper link of the primary blackholed (bytes held, no FIN/RST),
clients still reach it. "failed calls" after SIGKILL/SIGSTOP/partition are non-idempotent calls in flight to
the old primary, failed as "outcome unknown" by design; idempotent calls are retried and do not fail.
Curator and kazoo wait for ZooKeeper to expire the old leader's session (the session timeout); zk-ha's
successor takes over once it has seen no lease renewal for lease × (1 + margin), independent of the session.
Percentiles are nearest-rank over the trials (with ≤ 20 trials, p99 = max).
`;
}

function docSection(rows: readonly ScenarioResult[], checks: readonly string[], quick: boolean, trials: number, peers: PeerVersions, cluster: Pick<ZkCluster, 'connectString'>, reruns: readonly string[] = []): string {
  const m = machine();
  return `## Failover: election after a fault (zk-ha vs Curator vs kazoo)

\`npm run bench:failover${quick ? ' -- --quick' : ''}\` — ${new Date().toISOString()}, ${trials} trials per cell${quick ? ' (quick run)' : ''}.${reruns.length ? ` Rows measured again with \`--merge\` after a fix: ${reruns.join('; ')}.` : ''}
Machine: ${m.cpus}, ${m.cores} cores, ${m.memGiB} GiB, ${m.os}, Node ${m.node}; ZooKeeper 3.8 (Debian), 3-node ensemble on
loopback (tickTime 100 ms, ${cluster.connectString}); Curator ${peers.curatorVersion} (${peers.javaVersion}); kazoo ${peers.kazooVersion} (Debian python3).

${markdownTable(HEADERS, tableRows(rows))}

${checks.map((c) => `- ${c}`).join('\n')}

**Method.** Each system runs three candidates, each its own process: zk-ha's \`Election\` (lib/coordination,
\`integration/workers/candidate-worker.ts\`, lease fraction 0.5), Curator \`LeaderLatch\`
(\`bench/peers/CuratorCandidate.java\`, compiled at bench time against Debian's jars, ExponentialBackoffRetry
100 ms..1 s, connection timeout = session timeout, CloseMode.NOTIFY_LEADER) and kazoo \`Election\`
(\`bench/peers/kazoo_candidate.py\`). Only one system's candidates run at a time. Every candidate prints
\`elected\`/\`demoted\` lines stamped with CLOCK_MONOTONIC (node \`process.hrtime.bigint()\`, Java
\`System.nanoTime()\`, Python \`time.monotonic_ns()\` — all \`clock_gettime(CLOCK_MONOTONIC)\` on Linux; the bench
checks it by pinging one candidate per system and requiring the reply's stamp to fall between send and
receipt). The bench stamps the fault on the same clock just before it acts. After each trial the faulted
candidate is killed and a fresh one joins at the back; the next trial waits for one leader, stable for 300 ms.

- **handover**: the leader is told to leave (zk-ha \`election.resign({rejoin:false})\`; Curator
  \`latch.close()\` + \`client.close()\`; kazoo: the leader function returns, the lock node is deleted, the
  client stops). Time = fault → next candidate's \`elected\`.
- **sigkill**: SIGKILL of the leader process. Time = fault → next \`elected\` (bounded below by the session timeout:
  ZooKeeper must expire the dead session first).
- **sigstop**: SIGSTOP of the leader; as soon as the bench reads the successor's \`elected\` it sends SIGCONT.
  Overlap for Curator and kazoo = successor's \`elected\` → the resumed process's own \`demoted\` (it believed it
  led until then). For zk-ha the candidate logs \`act\` every 20 ms only while \`election.isLeader()\` (elected and
  the lease holds — the check a primary makes before serving a call); overlap = the last \`act\` of an older epoch
  after a newer epoch was elected (0 = it never acted as a stale leader). "overlap max" in the table is that figure;
  the JSON also carries \`beliefOverlapMaxMs\` (elected → demoted lines) for zk-ha.
- **zk-leader-loss**: SIGKILL of the ZooKeeper *ensemble* leader while the candidates run; the bench watches
  for at least two session timeouts and until one leader is stable for 1 s. Time = fault → the end of the last
  moment with no leader at all (0 if a leader was present throughout); "leader changed" counts trials after
  which a different process led. The killed node is restarted before the next trial.
- kazoo note: \`Election.run\` never tells the leader function that leadership is gone; kazoo's Lock docs tell
  the user to watch connection states. The candidate does what they say: SUSPENDED or LOST → \`demoted\`; CONNECTED
  again on the same session while still in the leader function → \`elected\` again; LOST → leave the function
  and re-enter the election. Curator 5's LeaderLatch itself calls \`notLeader\` on SUSPENDED and, on
  RECONNECTED, deletes its node and re-joins at the back of the line.
- **measure 'client'** (zk-ha only — the peers are election recipes, not RPC stacks): three \`HaServer\`
  processes (\`integration/workers/ha-server-worker.ts\`) and an \`HaClient\` in the bench process under steady
  load (two loops of an idempotent call, two of a non-idempotent one). Unavailability = fault → the first call
  answered by the new primary (higher epoch), as the client saw it; for zk-leader-loss, where the primary
  stays, the longest gap between successful calls after the fault. "failed calls" counts every failed call:
  after SIGKILL/SIGSTOP these are non-idempotent calls that were in flight to the dead/frozen primary and
  fail as "outcome unknown" by design (never retried); idempotent calls are re-sent and do not fail.
- Percentiles are exact nearest-rank over the trials (with 20 trials, p99 = max).
`;
}

async function main(): Promise<void> {
  // --lease: the issue-14 run — session 10 s (20 × the lease), the faults a lease must beat.
  const leaseRun = flag('lease');
  const trials = Number(option('trials') ?? (quick ? 3 : leaseRun ? 10 : 20));
  const timeouts = (option('timeouts') ?? (leaseRun ? '10000' : quick ? '1000' : '1000,4000')).split(',').map(Number);
  const systems = list('systems', SYSTEMS, SYSTEMS);
  const faults = list('faults', ALL_FAULTS, leaseRun ? ['handover', 'sigkill', 'sigstop', 'partition'] : FAULTS);
  if (!Number.isInteger(trials) || trials < 1 || timeouts.some((t) => !Number.isInteger(t) || t < 200)) throw new Error('bad --trials or --timeouts');

  const log = (line: string): void => console.log(line);
  const peers = systems.some((s) => s !== 'zk-ha') ? preparePeers() : undefined;
  let cluster: ZkCluster | undefined;
  const rows: ScenarioResult[] = [];
  try {
    cluster = await startZooKeeper({ nodes: 3, tickTime: 100, minSessionTimeout: 200, maxSessionTimeout: 60000, jvmFlags: zkGcLog(option('zk-gc-log')) });
    log(`ZooKeeper ensemble at ${cluster.connectString}`);
    context = { env: { cluster, peers, log }, runId: String(Date.now()), groups: new Map() };
    for (const timeout of timeouts) {
      for (const system of systems) {
        for (const fault of faults) {
          if (system !== 'zk-ha' && (fault === 'partition' || (leaseRun && fault === 'handover'))) continue; // client measure only
          log(`${system}: ${fault}, session timeout ${timeout} ms, ${trials} trials`);
          rows.push(...(system === 'zk-ha' ? await runZkHaScenario(fault, timeout, trials) : await runPeerScenario(system, fault as Fault, timeout, trials)));
        }
      }
    }
  } finally {
    if (context) for (const g of context.groups.values()) await g.close();
    await cluster?.close();
    peers?.dispose();
  }

  // --keep-peers (lease run): rows of systems not measured now come from the last bench/results/failover.json.
  if (leaseRun && flag('keep-peers')) {
    const previous = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, 'failover.json'), 'utf8')) as { scenarios: ScenarioResult[] };
    rows.push(...previous.scenarios.filter((r) => !systems.includes(r.system) && timeouts.includes(r.sessionTimeoutMs)));
  }
  const sorted = [...rows].sort((a, b) => a.sessionTimeoutMs - b.sessionTimeoutMs || ALL_FAULTS.indexOf(a.fault) - ALL_FAULTS.indexOf(b.fault) || SYSTEMS.indexOf(a.system) - SYSTEMS.indexOf(b.system));
  console.log(`\n${formatTable(HEADERS, tableRows(sorted))}`);
  const checks = verdicts(sorted);
  if (checks.length) console.log(`\n${checks.join('\n')}`);
  const m = machine();
  // --out=<file>: a partial run (say, one fault) written elsewhere, leaving results and docs alone.
  const out = option('out');
  const result = {
    quick,
    measuredAt: new Date().toISOString(),
    machine: m,
    peers: peers ? { curator: peers.curatorVersion, kazoo: peers.kazooVersion, java: peers.javaVersion } : undefined,
    scenarios: sorted,
  };
  if (out) {
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nwrote ${out}`);
    return;
  }
  // --merge: these rows replace the same rows of the last full run (e.g. after a fix), the rest stay.
  if (flag('merge')) {
    const file = path.join(RESULTS_DIR, 'failover.json');
    const previous = JSON.parse(fs.readFileSync(file, 'utf8')) as { quick: boolean; peers?: { curator: string; kazoo: string; java: string }; scenarios: ScenarioResult[]; reruns?: string[] };
    const key = (r: ScenarioResult): string => `${r.system}/${r.measure}/${r.fault}/${r.sessionTimeoutMs}`;
    const fresh = new Map(sorted.map((r) => [key(r), r]));
    const merged = previous.scenarios.map((r) => fresh.get(key(r)) ?? r);
    for (const r of sorted) if (!previous.scenarios.some((p) => key(p) === key(r))) merged.push(r);
    const reruns = [...(previous.reruns ?? []), `${[...fresh.keys()].join(', ')} at ${result.measuredAt}`];
    const mergedChecks = verdicts(merged);
    console.log(`\nmerged:\n${formatTable(HEADERS, tableRows(merged))}\n\n${mergedChecks.join('\n')}`);
    console.log(`\nwrote ${writeResult('failover.json', { ...previous, scenarios: merged, reruns })}`);
    console.log(`wrote ${writeFailoverChart(chartPath('failover.svg'))}`);
    if (previous.peers) {
      const versions = { curatorVersion: previous.peers.curator, kazooVersion: previous.peers.kazoo, javaVersion: previous.peers.java };
      console.log(`wrote ${updateDocSection('failover', docSection(merged, mergedChecks, previous.quick, trials, versions, cluster!, reruns))}`);
    }
    return;
  }
  console.log(`\nwrote ${writeResult('failover.json', leaseRun ? { ...result, leaseMs: LEASE_MS, driftMargin: DEFAULT_DRIFT_MARGIN } : result)}`);
  console.log(`wrote ${writeFailoverChart(chartPath('failover.svg'))}`);
  if (leaseRun) {
    const versions = peers ? { curatorVersion: peers.curatorVersion, kazooVersion: peers.kazooVersion, javaVersion: peers.javaVersion } : undefined;
    fs.writeFileSync(FAILOVER_DOC, leaseDocSection(sorted, checks, trials, versions, cluster!));
    console.log(`wrote ${FAILOVER_DOC}`);
    return;
  }
  if (peers) console.log(`wrote ${updateDocSection('failover', docSection(sorted, checks, quick, trials, peers, cluster!))}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
