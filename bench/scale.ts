// Membership at scale: how fast one membership change reaches 1000 watching clients, what it costs
// them in ZooKeeper reads, and how many candidates one leader change wakes with 10 and 100
// candidates (and what they read in steady state) — zk-ha's Election next to a naive
// watch-all-children election (bench/lib/election-scale.ts).
//   npm run bench:scale               1000 clients (4 processes × 250 ZkSessions), 100 members
//   npm run bench:scale -- --quick    200 clients, 20 members
//   options: --clients=N --members=N --processes=N --changes=N --doc=<markdown file for the sections, default docs/performance-scale.md>
//            --only=elections  only the elections part (its own doc section and bench/results/scale-elections.json)
//            --watch-mode=auto|children  how this lib's views watch (default auto: a persistent recursive
//                                        watch on ZooKeeper 3.6+; children: one-shot watches)
//            --base=DIR   A/B: the propagation phase alternates this lib and DIR/lib (e.g.
//                         `git archive main lib | tar -x -C DIR`, DIR inside this checkout so that
//                         node_modules resolves), --rounds=N times each (default 2 with --base, else 1);
//                         --base-label=TEXT names the baseline in the doc
//            --cpu-prof=DIR  V8 CPU profiles of the watcher processes during the changes only (from the
//                            first change to the report: start-up, i.e. 100 000 first reads, would swamp
//                            them), one DIR/changes-<pid>.cpuprofile each; summary: `tsx bench/profile-summary.ts DIR`
//            --cpu-prof-whole=DIR  node's own --cpu-prof --cpu-prof-dir=DIR on the watcher children (whole life)
//            --zk-jit=c1|full  ZooKeeper's JIT: c1 (default: the test harness's fast-start -XX:TieredStopAtLevel=1)
//                              or full (the JVM's own tiered C1 + C2, as in production: C2 compiles during the
//                              first phase's changes, which then cost ZooKeeper about twice the CPU)
//            --propagation-only  skip the renewal and leader-change measures; print, write no JSON or doc
//            --layers  also a phase of ZkSession alone (no MembershipView: a persistent watch and a getData
//                      per join), to split this lib's cost between the session layer and the view
//            --source  the watchers run lib/'s TypeScript through tsx (default: lib/ compiled by tsc into
//                      node_modules/.cache/zk-ha-bench, what the package ships; --base is always from source)
//            --no-raw  skip the raw baseline phase (by default every round also runs the same change sequence
//                      against sessions that speak the wire protocol with no library, bench/lib/workers/
//                      scale-raw-watchers.ts: ZooKeeper's fan-out + the kernel + Node's event loop, the floor)
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnTracked, startZooKeeper, type ZkCluster } from '../integration/harness';
import { Election, Membership, MembershipView, servicePaths } from '../lib/coordination';
import { ZkSession } from '../lib/zk';
import { msBetween, nowNs, sleep } from './lib/clock';
import { flag, option, positiveInt as opt, quick } from './lib/args';
import { buildLib } from './lib/compiled-lib';
import { updateDocSection } from './lib/docs';
import { electionsReport, measureElections, waitFor, type ElectionScale } from './lib/election-scale';
import { machine, writeResult } from './lib/results';
import { round1, summarize, type Summary } from './lib/stats';
import { formatTable, markdownTable } from './lib/table';

const CLIENTS = opt('clients', quick ? 200 : 1000);
const MEMBERS = opt('members', quick ? 20 : 100);
const PROCESSES = opt('processes', 4);
const CHANGES = opt('changes', quick ? 10 : 30);
const BASE = option('base');
/** How the doc names the baseline (e.g. "main at 2fd37f5"); the directory by default. */
const BASE_LABEL = option('base-label') ?? BASE;
const ROUNDS = opt('rounds', BASE ? 2 : 1);
const WATCH_MODE = option('watch-mode') ?? 'auto';
const ONLY = option('only');
if (ONLY !== undefined && ONLY !== 'elections') throw new Error('--only must be elections');
const CHANGE_PROF_DIR = option('cpu-prof') ?? process.env.BENCH_CHANGE_PROF;
const WHOLE_PROF_DIR = option('cpu-prof-whole') ?? process.env.BENCH_CPU_PROF;
const PROPAGATION_ONLY = flag('propagation-only');
/** The watchers run the TypeScript source through tsx instead of lib/ compiled by tsc. */
const SOURCE = flag('source');
const RAW = !flag('no-raw');
const LAYERS = flag('layers');
/** How ZooKeeper's JVM compiles (see the header). */
const ZK_JIT = option('zk-jit') ?? 'c1';
if (ZK_JIT !== 'full' && ZK_JIT !== 'c1') throw new Error('--zk-jit must be full or c1');
if (WATCH_MODE !== 'auto' && WATCH_MODE !== 'children') throw new Error('--watch-mode must be auto or children');
/** Targets of issue 15. */
const TARGET_P99_MS = 150;
const TARGET_READS = 1.5;

/** Which lib the watching clients run, and how their views watch. */
interface Variant {
  readonly label: string;
  /** Directory containing lib/; undefined: this checkout. */
  readonly root?: string;
  readonly watchMode: 'auto' | 'children' | 'session';
  /** The raw baseline (no library): bench/lib/workers/scale-raw-watchers.ts. */
  readonly raw?: boolean;
}
const LEADER_CHANGES = quick ? 3 : 5;
const CANDIDATE_COUNTS = [10, 100] as const;
/** Long: the bench measures change traffic, and lease probes of idle watchers are not part of it. */
const WATCHER_SESSION_MS = 30000;
const ROOT = `/bench-scale-${Date.now()}`;
const SERVICE = 'scale';

const log = (line: string): void => console.log(line);

// ---- watcher processes -----------------------------------------------------------------------

interface WatcherReport {
  clients: number;
  reads: number;
  probes: number;
  watchEvents: number;
  arrivals: Record<string, string[]>;
}

class WatcherProcess {
  readonly child: ChildProcess;
  readonly seen = new Set<string>();
  private readonly waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];

  constructor(readonly clients: number, connect: string, variant: Variant) {
    const file = path.join(__dirname, 'lib', 'workers', variant.raw ? 'scale-raw-watchers.ts' : 'scale-watchers.ts');
    const lib = path.resolve(variant.root ?? path.join(__dirname, '..'), 'lib');
    // BENCH_WATCHER_FLAGS: node/V8 flags for the watcher processes (diagnosis: --trace-deopt, --perf-basic-prof).
    const flags = process.env.BENCH_WATCHER_FLAGS?.split(' ').filter(Boolean) ?? [];
    const prof = [...flags, ...(WHOLE_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(WHOLE_PROF_DIR)}`] : [])];
    const env = CHANGE_PROF_DIR ? { ...process.env, BENCH_CHANGE_PROF: path.resolve(CHANGE_PROF_DIR) } : process.env;
    this.child = spawnTracked(process.execPath, [...prof, '-r', 'tsx/cjs', file, connect, ROOT, SERVICE, String(clients), String(WATCHER_SESSION_MS), lib, variant.watchMode], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env,
    });
    this.child.on('message', (m: Record<string, unknown>) => {
      if (typeof m.seen === 'string') this.seen.add(m.seen);
      if (typeof m.error === 'string') for (const w of this.waiters.splice(0)) w.reject(new Error(`watcher ${this.child.pid}: ${m.error}`));
      for (const w of [...this.waiters]) {
        if (w.match(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    this.child.once('exit', (code) => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`watcher ${this.child.pid} exited (${code})`));
    });
  }

  next(key: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watcher ${this.child.pid}: no "${key}" within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match: (m) => key in m,
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
    });
  }

  send(cmd: string): void {
    if (this.child.connected) this.child.send({ cmd });
  }

  /** Asks the watcher to close its sessions and exit (so a CPU profile gets written); kills it after 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.send('close');
    const timer = setTimeout(() => this.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    try {
      this.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

// ---- members (in this process) -----------------------------------------------------------------

interface Member {
  readonly id: string;
  readonly session: ZkSession;
  readonly membership: Membership;
}

async function startMember(connect: string, id: string): Promise<Member> {
  const session = new ZkSession({ connect, sessionTimeoutMs: WATCHER_SESSION_MS, leaseProbe: 'read' });
  await session.start();
  const membership = new Membership(session, { service: SERVICE, mode: 'redundant', root: ROOT, record: { id, url: `ws://127.0.0.1:1/${id}` } });
  return { id, session, membership };
}

async function waitAll(watchers: readonly WatcherProcess[], key: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!watchers.every((w) => w.seen.has(key))) {
    if (Date.now() > deadline) throw new Error(`change ${key} did not reach every client within ${timeoutMs} ms`);
    await sleep(2);
  }
}

interface PropagationResult {
  perClient: Summary;
  allClients: Summary;
  byKind: Record<'join' | 'leave', Summary>;
  readsPerChangePerClient: number;
  readsInclProbesPerChangePerClient: number;
  watchEventsPerChangePerClient: number;
  /** CPU time (user + system) per change, by process group, over the whole change phase (includes the 150 ms gaps). */
  cpuMsPerChange: Record<string, number>;
  /** The system (kernel) part of cpuMsPerChange: syscalls, the loopback TCP stack. */
  sysCpuMsPerChange: Record<string, number>;
  /** The same, for joins and for departures apart (the 150 ms gap after each change included). */
  cpuMsPerChangeByKind: Record<'join' | 'leave', Record<string, number>>;
  /** How the views watched (view.watchMode → number of views). */
  watchModes: Record<string, number>;
  /** 1-minute load average at the start and at the end of the change phase. */
  load: [number, number];
  /** The joiners' register() calls (diagnostic: joins are timed from before it). */
  register: Summary;
  /** Per client, joins timed from before register() instead of from the create. */
  inclRegister: Summary;
}

/** user + system CPU ms of each pid group (`sys: true`: system time only), from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuMs(groups: Record<string, number[]>, sys = false): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, pids] of Object.entries(groups)) {
    out[k] = pids.reduce((sum, pid) => {
      try {
        const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
        return sum + ((sys ? 0 : Number(fields[11])) + Number(fields[12])) * 10;
      } catch {
        return sum;
      }
    }, 0);
  }
  return out;
}

async function measurePropagation(cluster: ZkCluster, variant: Variant): Promise<PropagationResult> {
  const members: Member[] = [];
  const watchers: WatcherProcess[] = [];
  try {
    log(`registering ${MEMBERS} members`);
    for (let i = 0; i < MEMBERS; i++) {
      const m = await startMember(cluster.connectString, `member-${i}`);
      await m.membership.register();
      members.push(m);
    }
    log(`starting ${CLIENTS} watching clients in ${PROCESSES} processes`);
    const per = Math.ceil(CLIENTS / PROCESSES);
    for (let left = CLIENTS; left > 0; left -= per) watchers.push(new WatcherProcess(Math.min(per, left), cluster.connectString, variant));
    const ready = await Promise.all(watchers.map((w) => w.next('ready', 300000)));
    const watchModes: Record<string, number> = {};
    for (const m of ready) for (const [k, v] of Object.entries(m.modes as Record<string, number>)) watchModes[k] = (watchModes[k] ?? 0) + v;
    const sizes = ready.flatMap((m) => m.members as number[]);
    if (sizes.some((n) => n !== MEMBERS)) throw new Error(`a view started with ${Math.min(...sizes)}..${Math.max(...sizes)} members, not ${MEMBERS}`);
    log(`all ${CLIENTS} views hold ${MEMBERS} members; ${CHANGES} changes follow`);
    await sleep(500);
    for (const w of watchers) w.send('mark');
    await Promise.all(watchers.map((w) => w.next('marked', 10000)));

    const cpuPids = { zookeeper: [cluster.pid(1) ?? -1], watchers: watchers.map((w) => w.child.pid ?? -1), bench: [process.pid] };
    const cpuBefore = cpuMs(cpuPids);
    const sysBefore = cpuMs(cpuPids, true);
    const loadBefore = os.loadavg()[0]!;
    const changes: { key: string; kind: 'join' | 'leave'; t0: bigint; registerStart?: bigint }[] = [];
    const membersPath = servicePaths(SERVICE, ROOT).members;
    let joined = 0;
    /** How long each joiner's register() took (ensureService + create): part of every join's figure. */
    const registerMs: number[] = [];
    /** CPU ms by process group summed over the changes of each kind (each change until the next starts). */
    const cpuByKind: Record<'join' | 'leave', Record<string, number>> = { join: {}, leave: {} };
    for (let c = 0; c < CHANGES; c++) {
      if (process.env.BENCH_DEBUG) log(`  change ${c} starts`);
      const cpuAtStart = cpuMs(cpuPids);
      let key: string;
      let t0: bigint;
      let registerStart: bigint | undefined;
      if (c % 2 === 0) {
        // A member leaves: one delete.
        const victim = members.splice(Math.floor(Math.random() * members.length), 1)[0]!;
        key = `leave:${victim.id}`;
        t0 = nowNs();
        await victim.membership.leave();
        void victim.session.close();
      } else {
        // A member joins: register() = ensureService (one round trip of reads when the service
        // exists) + one create. The change is the create: timed from when it is sent, as a leave is
        // from its delete (the reads before it are the joiner's start-up; nobody can see a change
        // that does not exist yet). The figures from before register() are kept beside.
        const m = await startMember(cluster.connectString, `joiner-${joined++}`);
        key = `join:${m.id}`;
        const create = m.session.create;
        let createSent: bigint | undefined;
        m.session.create = (...args) => {
          if (args[0].startsWith(`${membersPath}/`)) createSent ??= nowNs();
          return create.apply(m.session, args);
        };
        registerStart = nowNs();
        await m.membership.register();
        registerMs.push(msBetween(registerStart, nowNs()));
        t0 = createSent ?? registerStart;
        if (process.env.BENCH_DEBUG) log(`  ${key}: register() ${round1(registerMs.at(-1)!)} ms, of which the create ${round1(msBetween(t0, nowNs()))} ms`);
        members.push(m);
      }
      changes.push({ key, kind: key.startsWith('join') ? 'join' : 'leave', t0, registerStart });
      await waitAll(watchers, key, 60000);
      await sleep(150); // let the trailing reads of this change finish before the next one
      const cpuAtEnd = cpuMs(cpuPids);
      const kind = cpuByKind[changes.at(-1)!.kind];
      for (const k of Object.keys(cpuPids)) kind[k] = (kind[k] ?? 0) + cpuAtEnd[k]! - cpuAtStart[k]!;
    }
    const cpuAfter = cpuMs(cpuPids);
    const loadAfter = os.loadavg()[0]!;
    const cpuPerChange = Object.fromEntries(Object.keys(cpuPids).map((k) => [k, (cpuAfter[k]! - cpuBefore[k]!) / CHANGES]));
    const sysAfter = cpuMs(cpuPids, true);
    const sysPerChange = Object.fromEntries(Object.keys(cpuPids).map((k) => [k, (sysAfter[k]! - sysBefore[k]!) / CHANGES]));
    for (const w of watchers) w.send('report');
    const reports = (await Promise.all(watchers.map((w) => w.next('report', 30000)))).map((m) => m.report as WatcherReport);

    const perClient: number[] = [];
    const allClients: number[] = [];
    const byKind: Record<'join' | 'leave', number[]> = { join: [], leave: [] };
    /** Per client, joins timed from before register() (the definition before session 7). */
    const inclRegister: number[] = [];
    for (const ch of changes) {
      const lat = reports.flatMap((r) => (r.arrivals[ch.key] ?? []).map((t) => msBetween(ch.t0, BigInt(t))));
      if (lat.length !== CLIENTS) throw new Error(`${ch.key}: ${lat.length} of ${CLIENTS} clients saw it exactly once`);
      perClient.push(...lat);
      if (process.env.BENCH_DEBUG) { // per watcher process
        const perProc = reports.map((r) => summarize((r.arrivals[ch.key] ?? []).map((t) => msBetween(ch.t0, BigInt(t)))));
        log(`  ${ch.key}: ${perProc.map((s) => `[p50 ${round1(s.p50)}, max ${round1(s.max)}]`).join(' ')}`);
      }
      byKind[ch.kind].push(...lat);
      allClients.push(Math.max(...lat));
      const from = ch.registerStart ?? ch.t0;
      inclRegister.push(...reports.flatMap((r) => (r.arrivals[ch.key] ?? []).map((t) => msBetween(from, BigInt(t)))));
    }
    const sum = (k: 'reads' | 'probes' | 'watchEvents'): number => reports.reduce((s, r) => s + r[k], 0);
    const denom = CHANGES * CLIENTS;
    return {
      perClient: summarize(perClient),
      allClients: summarize(allClients),
      byKind: { join: summarize(byKind.join), leave: summarize(byKind.leave) },
      readsPerChangePerClient: (sum('reads') - sum('probes')) / denom,
      readsInclProbesPerChangePerClient: sum('reads') / denom,
      watchEventsPerChangePerClient: sum('watchEvents') / denom,
      cpuMsPerChange: cpuPerChange,
      sysCpuMsPerChange: sysPerChange,
      cpuMsPerChangeByKind: Object.fromEntries((['join', 'leave'] as const).map((kind) => {
        const n = changes.filter((ch) => ch.kind === kind).length;
        return [kind, Object.fromEntries(Object.entries(cpuByKind[kind]).map(([k, v]) => [k, v / Math.max(1, n)]))];
      })) as Record<'join' | 'leave', Record<string, number>>,
      watchModes,
      load: [loadBefore, loadAfter],
      register: summarize(registerMs),
      inclRegister: summarize(inclRegister),
    };
  } finally {
    await Promise.all(watchers.map((w) => w.stop()));
    await Promise.all(members.map((m) => m.session.close()));
  }
}

// ---- lease renewals seen by client views ----------------------------------------------------------

interface RenewalCounts {
  views: number;
  renewals: number;
  /** Summed over the views' sessions and their 'change' events, over the whole window. */
  watchEvents: number;
  changes: number;
}

/** A primary renews its lease (a setData under leases/) while views of its service watch: they must not wake. */
async function renewalNotifications(connect: string, viewCount: number): Promise<RenewalCounts> {
  const service = 'renewals';
  const host = new ZkSession({ connect, sessionTimeoutMs: 3000 });
  const sessions: ZkSession[] = [host];
  const views: MembershipView[] = [];
  let election: Election | undefined;
  try {
    await host.start();
    const membership = new Membership(host, { service, mode: 'primary-backup', root: ROOT, record: { id: 'primary', url: 'ws://127.0.0.1:1/p' } });
    election = new Election(host, membership, { leaseMs: 600 });
    election.start();
    await membership.register();
    for (let i = 0; i < viewCount; i++) {
      const s = new ZkSession({ connect, sessionTimeoutMs: WATCHER_SESSION_MS, leaseProbe: 'read' });
      sessions.push(s);
      await s.start();
      const v = new MembershipView(s, service, { root: ROOT, watchMode: WATCH_MODE as 'auto' | 'children' });
      views.push(v);
      await v.start();
    }
    await waitFor(() => (views.every((v) => v.snapshot.primary !== undefined) ? true : undefined), 20000, 'the primary in every view');
    await sleep(500);
    const leases = servicePaths(service, ROOT).leases;
    const leaseVersion = async (): Promise<number> => {
      const [name] = (await host.children(leases)).children;
      return (await host.exists(`${leases}/${name!}`))?.version ?? 0;
    };
    let changes = 0;
    for (const v of views) v.on('change', () => { changes++; });
    const events0 = sessions.slice(1).reduce((n, s) => n + s.stats.watchEvents, 0);
    const version0 = await leaseVersion();
    await sleep(3000);
    const renewals = (await leaseVersion()) - version0;
    const watchEvents = sessions.slice(1).reduce((n, s) => n + s.stats.watchEvents, 0) - events0;
    return { views: viewCount, renewals, watchEvents, changes };
  } finally {
    election?.stop();
    for (const v of views) v.stop();
    await Promise.all(sessions.map((s) => s.close()));
  }
}

// ---- main ----------------------------------------------------------------------------------------

type Phase = { variant: Variant; round: number; result: PropagationResult };

/** --doc=<file>: the sections go to another markdown file (docs/performance.md keeps the previous round's figures). */
function writeSection(name: string, markdown: string): string {
  const docFile = path.resolve(option('doc') ?? path.join(__dirname, '..', 'docs', 'performance-scale.md'));
  return updateDocSection(name, markdown, docFile, '# Membership at scale\n');
}

async function main(): Promise<void> {
  let cluster: ZkCluster | undefined;
  const elections: ElectionScale[] = [];
  // The watchers run lib/ compiled by tsc (what the package ships), unless --source.
  const compiled = SOURCE ? undefined : buildLib();
  const variants: Variant[] = [{ label: `this (${WATCH_MODE})`, root: compiled, watchMode: WATCH_MODE as Variant['watchMode'] }];
  if (LAYERS) variants.push({ label: 'ZkSession only (no view)', root: compiled, watchMode: 'session' });
  if (RAW) variants.push({ label: 'raw (no library)', watchMode: 'auto', raw: true });
  if (BASE) variants.push({ label: 'base', root: BASE, watchMode: 'auto' });
  const phases: Phase[] = [];
  let renewals: RenewalCounts | undefined;
  try {
    // BENCH_ZK_FLAGS: extra JVM flags for ZooKeeper (diagnosis: -Xlog:gc:file=/tmp/zk-gc.log).
    const zkFlags = process.env.BENCH_ZK_FLAGS?.split(' ').filter(Boolean) ?? [];
    cluster = await startZooKeeper({ nodes: 1, tickTime: 100, jvmFlags: [...(ZK_JIT === 'full' ? ['-XX:TieredStopAtLevel=4'] : []), ...zkFlags] });
    log(`ZooKeeper standalone at ${cluster.connectString}`);
    for (let round = 1; round <= (ONLY ? 0 : ROUNDS); round++) {
      for (const variant of variants) {
        log(`propagation, round ${round}: ${variant.label}`);
        const result = await measurePropagation(cluster, variant);
        phases.push({ variant, round, result });
        log(`  ${phaseRow(variant, round, result).join(' | ')}`);
      }
    }
    if (PROPAGATION_ONLY) {
      printPhases(phases);
      return;
    }
    if (!ONLY) {
      log('lease renewals under 50 views');
      renewals = await renewalNotifications(cluster.connectString, 50);
    }
    for (const n of CANDIDATE_COUNTS) {
      log(`leader changes with ${n} candidates`);
      elections.push(await measureElections(cluster.connectString, ROOT, n, LEADER_CHANGES));
    }
  } finally {
    await cluster?.close();
  }
  const m = machine();
  const report = electionsReport(elections, LEADER_CHANGES);
  console.log(`\n${report.markdown}`);
  console.log(`\nwrote ${writeResult('scale-elections.json', { quick, measuredAt: new Date().toISOString(), machine: m, leaderChanges: LEADER_CHANGES, elections })}`);
  console.log(`wrote ${writeSection('scale-elections', `## Elections at scale

\`npm run bench:scale${quick ? ' -- --quick' : ''}${ONLY ? ' -- --only=elections' : ''}\` — ${new Date().toISOString()}: ${CANDIDATE_COUNTS.join(' and ')} candidates. Machine: ${m.cpus},
${m.cores} cores, ${m.memGiB} GiB, ${m.os}, Node ${m.node}; ZooKeeper 3.8 standalone on loopback; 1-minute load average at the end: ${os.loadavg()[0]!.toFixed(1)}.

${report.markdown}`)}`);
  if (renewals) reportPropagation(phases, variants, renewals);
}

function reportPropagation(phases: readonly Phase[], variants: readonly Variant[], renewals: RenewalCounts): void {
  // The tables show the last phase of this lib; every phase is in the A/B table.
  const p = phases.filter((ph) => ph.variant === variants[0]).at(-1)!.result;
  const ms = (s: Summary): (string | number)[] => [s.n, round1(s.p50), round1(s.p99), round1(s.max)];
  const propHeaders = ['propagation', 'samples', 'p50 ms', 'p99 ms', 'max ms'];
  const propRows = [
    ['per client (each client, each change)', ...ms(p.perClient)],
    ['to all clients (slowest client per change)', ...ms(p.allClients)],
    ['  member leaves, per client', ...ms(p.byKind.leave)],
    ['  member joins, per client', ...ms(p.byKind.join)],
    ['per client, joins timed from before register() (ensureService read + create; the definition before session 7)', ...ms(p.inclRegister)],
    ['  the joiner\'s register() itself', ...ms(p.register)],
  ];
  const costHeaders = ['cost per change per client', 'value'];
  const costRows = [
    ['ZooKeeper reads (without lease probes)', round2(p.readsPerChangePerClient)],
    ['ZooKeeper reads (with lease probes)', round2(p.readsInclProbesPerChangePerClient)],
    ['watch notifications received', round2(p.watchEventsPerChangePerClient)],
    ...Object.entries(p.cpuMsPerChange).map(([k, v]) => [`CPU ms per change, ${k} (all clients together)`, round2(v)]),
  ];
  const abRows = phases.map((ph) => phaseRow(ph.variant, ph.round, ph.result));
  const renewalHeaders = ['views', 'lease renewals (3 s)', 'watch events at the views', 'view changes'];
  const renewalRows = [[renewals.views, renewals.renewals, renewals.watchEvents, renewals.changes]];
  console.log(`\n${CLIENTS} clients, ${MEMBERS} members, ${CHANGES} changes\n${formatTable(AB_HEADERS, abRows)}\n\n${formatTable(propHeaders, propRows)}\n\n${formatTable(costHeaders, costRows)}\n\nlease renewals\n${formatTable(renewalHeaders, renewalRows)}`);

  const checks = [
    `${p.perClient.p99 <= TARGET_P99_MS ? 'MET ' : 'MISS'} propagation p99 per client ${round1(p.perClient.p99)} ms to ${CLIENTS} clients (target <= ${TARGET_P99_MS} ms${CLIENTS < 1000 ? '; target is stated for 1000 clients' : ''})`,
    `${p.allClients.p99 <= TARGET_P99_MS ? 'MET ' : 'MISS'} propagation p99 to all ${CLIENTS} clients ${round1(p.allClients.p99)} ms (target <= ${TARGET_P99_MS} ms)`,
    `${p.readsPerChangePerClient <= TARGET_READS ? 'MET ' : 'MISS'} ${round2(p.readsPerChangePerClient)} ZooKeeper reads per change per client (target <= ${TARGET_READS})`,
    `${renewals.watchEvents === 0 && renewals.changes === 0 && renewals.renewals > 0 ? 'MET ' : 'MISS'} lease renewals: ${renewals.watchEvents} watch events and ${renewals.changes} changes at ${renewals.views} views over ${renewals.renewals} renewals (target 0)`,
  ];
  const raw = phases.filter((ph) => ph.variant.raw).at(-1)?.result;
  if (raw) {
    checks.push(`INFO raw baseline (no library, last raw phase): p99 per client ${round1(raw.perClient.p99)} ms, all clients ${round1(raw.allClients.p99)} ms; watchers' CPU ${round2(raw.cpuMsPerChange.watchers!)} ms per change (this lib: ${round2(p.cpuMsPerChange.watchers!)})`);
  }
  console.log(`\n${checks.join('\n')}`);

  const file = writeResult('scale.json', {
    clients: CLIENTS,
    members: MEMBERS,
    propagationMs: { p50: round1(p.perClient.p50), p99: round1(p.perClient.p99) },
    zkReadsPerChangePerClient: round2(p.readsPerChangePerClient),
    quick,
    measuredAt: new Date().toISOString(),
    machine: machine(),
    changes: CHANGES,
    watcherProcesses: PROCESSES,
    propagationAllClientsMs: { p50: round1(p.allClients.p50), p99: round1(p.allClients.p99), max: round1(p.allClients.max) },
    propagationByKindMs: {
      leave: { p50: round1(p.byKind.leave.p50), p99: round1(p.byKind.leave.p99) },
      join: { p50: round1(p.byKind.join.p50), p99: round1(p.byKind.join.p99) },
    },
    /** Joins timed from before register() (ensureService's reads + the create), as before session 7. */
    propagationInclRegisterMs: { p50: round1(p.inclRegister.p50), p99: round1(p.inclRegister.p99) },
    registerMs: { p50: round1(p.register.p50), p99: round1(p.register.p99), max: round1(p.register.max) },
    zkReadsInclProbesPerChangePerClient: round2(p.readsInclProbesPerChangePerClient),
    watchEventsPerChangePerClient: round2(p.watchEventsPerChangePerClient),
    cpuMsPerChange: p.cpuMsPerChange,
    watchModes: p.watchModes,
    loadAverage1m: p.load,
    phases: phases.map((ph) => ({ variant: ph.variant.label, round: ph.round, row: phaseRow(ph.variant, ph.round, ph.result) })),
    leaseRenewals: renewals,
    rawBaseline: raw && {
      propagationMs: { p50: round1(raw.perClient.p50), p99: round1(raw.perClient.p99) },
      propagationAllClientsMs: { p50: round1(raw.allClients.p50), p99: round1(raw.allClients.p99), max: round1(raw.allClients.max) },
      cpuMsPerChange: raw.cpuMsPerChange,
      loadAverage1m: raw.load,
    },
  });
  console.log(`\nwrote ${file}`);
  const m = machine();
  const doc = `## Membership at scale

\`npm run bench:scale${quick ? ' -- --quick' : ''}\` — ${new Date().toISOString()}: ${CLIENTS} watching clients in ${PROCESSES} processes, ${MEMBERS} members,
${CHANGES} membership changes (alternately a member leaves and one joins). Machine: ${m.cpus}, ${m.cores} cores,
${m.memGiB} GiB, ${m.os}, Node ${m.node}; ZooKeeper 3.8 standalone on loopback (maxClientCnxns=0).
Views watch by: ${Object.entries(p.watchModes).map(([k, v]) => `${k} (${v} views)`).join(', ')}. 1-minute load average during the changes: ${p.load[0].toFixed(1)}–${p.load[1].toFixed(1)}
(the machine is shared; latency under load measures the scheduler as much as zk-ha).

${markdownTable(propHeaders, propRows)}

${markdownTable(costHeaders, costRows)}

Every propagation phase of this run (${[RAW ? 'the raw baseline' : '', BASE ? `the baseline ${BASE_LABEL}` : ''].filter(Boolean).map((b) => `alternating this lib and ${b}`).join(', ') || 'one lib'}; the tables above are the last phase of this lib${RAW ? `; "raw (no library)": the same changes to ${CLIENTS} sessions that speak ZooKeeper's wire protocol with no library — a persistent recursive watch, a getData per join, nothing else: ZooKeeper's fan-out, the kernel and Node's event loop, the floor any client pays` : ''}):

${markdownTable(AB_HEADERS, abRows)}

Lease renewals while views of that service watch (a primary with \`leaseMs\` 600 renews every ~200 ms, a setData under leases/):

${markdownTable(renewalHeaders, renewalRows)}

Elections at scale (who a leader change wakes, what candidates read in steady state): the next section.

${checks.map((c) => `- ${c}`).join('\n')}

**Method.** Every watching client is a real ZooKeeper session (\`ZkSession\`, leaseProbe 'read', session timeout
${WATCHER_SESSION_MS / 1000} s) with its own \`MembershipView\` ('persistent': one persistent recursive watch on members/, so a departure
costs no read and a join one getData; 'children': a children watch plus a data watch per member, one
getChildren per change); ${PROCESSES} child processes hold them, running ${SOURCE ? 'the TypeScript source through tsx (--source)' : 'lib/ compiled by tsc (what the package ships; session 7 on: earlier runs ran the source through tsx, whose module wrappers cost the watchers a few per cent)'}. Members run in the bench
process, each with its own session and \`Membership\`. The bench stamps \`process.hrtime.bigint()\` just before
\`membership.leave()\` (one delete) and, for a join, when the joiner's member-node create is sent (\`register()\` first
runs ensureService, a round trip of reads: the joiner's start-up, before any change exists — until session 7 joins were
timed from before \`register()\`, kept as a row above); each view stamps the same clock (CLOCK_MONOTONIC, shared across
processes) when its \`change\` event names that member. The next change starts once every client has seen the
previous one, plus 150 ms. Reads per change per client = the watchers' \`ZkSession.stats.reads\` delta over the
changes (minus lease probes, which are counted apart) ÷ (changes × clients).
`;
  console.log(`wrote ${writeSection('scale', doc)}`);
}

/** --propagation-only: the phases, and each phase's leaves and joins apart. */
function printPhases(phases: readonly { variant: Variant; round: number; result: PropagationResult }[]): void {
  console.log(`\n${CLIENTS} clients, ${MEMBERS} members, ${CHANGES} changes (propagation only: no JSON, no doc)\n${formatTable(AB_HEADERS, phases.map((ph) => phaseRow(ph.variant, ph.round, ph.result)))}`);
  for (const ph of phases) {
    const r = ph.result;
    console.log(`${ph.variant.label} #${ph.round}: leaves p50 ${round1(r.byKind.leave.p50)} p99 ${round1(r.byKind.leave.p99)}, joins p50 ${round1(r.byKind.join.p50)} p99 ${round1(r.byKind.join.p99)} (register() p50 ${round1(r.register.p50)} max ${round1(r.register.max)}); CPU ms/change ${Object.entries(r.cpuMsPerChange).map(([k, v]) => `${k} ${round2(v)} (sys ${round2(r.sysCpuMsPerChange[k]!)})`).join(', ')}`);
    for (const kind of ['join', 'leave'] as const) {
      console.log(`  CPU ms per ${kind}: ${Object.entries(r.cpuMsPerChangeByKind[kind]).map(([k, v]) => `${k} ${round2(v)}`).join(', ')}`);
    }
  }
}

const AB_HEADERS = ['phase', 'views watch by', 'load 1-min', 'p50 ms', 'p99 ms', 'p99 ms from before register()', 'all-clients p99 ms', 'reads/change/client', 'CPU ms/change watchers', 'CPU ms/change zookeeper'];

function phaseRow(variant: Variant, round: number, r: PropagationResult): (string | number)[] {
  const modes = Object.entries(r.watchModes).map(([k, v]) => `${k} ${v}`).join(', ');
  return [`${variant.label} #${round}`, modes, `${r.load[0].toFixed(1)}–${r.load[1].toFixed(1)}`, round1(r.perClient.p50), round1(r.perClient.p99),
    round1(r.inclRegister.p99), round1(r.allClients.p99), round2(r.readsPerChangePerClient), round2(r.cpuMsPerChange.watchers!), round2(r.cpuMsPerChange.zookeeper!)];
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
