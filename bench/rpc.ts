// RPC transport benchmark: zk-ha vs raw ws/TCP + msgpackr (corked per tick: the ceiling; and
// uncorked) vs grpc-js, on three payloads (small ~100 B, structured ~11 KB of 200 objects, a
// 16 KiB buffer) at concurrency 1/16/128. Every server and every client runs in its own process
// on loopback, server and client pinned to different cores (taskset). For each point the
// transports take turns (interleaved rounds, the order reversed every other round), so that the
// noise of a shared machine hits them alike; each verdict is the median over the rounds of the
// ratio zk-ha / baseline measured in the same round.
//   npm run bench:rpc              full run (about 10 minutes)
//   npm run bench:rpc -- --quick   short run (about a minute)
//   options: --only=zk-ha,ws-corked  --payloads=small,structured  --conc=16,128  --rounds=N
//            --warm-ms=N --measure-ms=N  --no-pin  --cpu-prof=DIR (profiles of every child)
//            --no-write (console only: no JSON, no docs)
//            --source    run zk-ha's TypeScript through tsx instead of lib/ compiled by tsc (the default, what the package ships)
//            --base=DIR  A/B: adds the row 'zk-ha-base' running DIR/lib (e.g. `git archive main lib | tar -x -C DIR`;
//                        DIR needs node_modules, a symlink will do); implies --no-write and --source
import { execFileSync, fork, ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { PointRequest, PointResult } from './rpc/client';
import { PAYLOADS, PayloadName } from './rpc/payloads';
import { BASE_LIB_ENV, TRANSPORTS, TransportName, ZKHA_LIB_ENV } from './rpc/transports';
import { flag, option as opt, quick } from './lib/args';
import { buildLib } from './lib/compiled-lib';
import { sleep } from './lib/clock';
import { median, pairedMedian, roundOrder } from './lib/rounds';
import { updateDocSection } from './lib/docs';
import { machine, writeResult } from './lib/results';
import { Cell, formatTable, markdownTable } from './lib/table';

const only = opt('only')?.split(',') as TransportName[] | undefined;
const payloads = (opt('payloads')?.split(',') as PayloadName[] | undefined) ?? [...PAYLOADS];
const concurrencies = opt('conc')?.split(',').map(Number) ?? [1, 16, 128];
const rounds = Number(opt('rounds') ?? (quick ? 1 : 5));
const warmMs = Number(opt('warm-ms') ?? (quick ? 300 : 500));
const measureMs = Number(opt('measure-ms') ?? (quick ? 700 : 1500));
const pin = !flag('no-pin');
const cpuProfDir = opt('cpu-prof');
const baseLib = opt('base');
const write = !flag('no-write') && baseLib === undefined;
// A/B rows both run from source, so that the two sides are loaded alike.
const fromSource = flag('source') || baseLib !== undefined;
const transports = only ?? [...TRANSPORTS];
if (baseLib !== undefined) {
  process.env[BASE_LIB_ENV] = baseLib;
  if (!transports.includes('zk-ha-base')) transports.splice(transports.indexOf('zk-ha') + 1, 0, 'zk-ha-base');
}
for (const t of transports) if (!TRANSPORTS.includes(t) && t !== 'zk-ha-base') throw new Error(`unknown transport ${t}; known: ${TRANSPORTS.join(', ')}`);
for (const p of payloads) if (!PAYLOADS.includes(p)) throw new Error(`unknown payload ${p}; known: ${PAYLOADS.join(', ')}`);

const SERVER_CPU = 0;
const CLIENT_CPU = 1;

function nextMessage<T>(child: ChildProcess, key: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${key}`)), timeoutMs);
    const onMessage = (m: Record<string, unknown>): void => {
      if (key in m) done(undefined, m[key] as T);
    };
    const onExit = (code: number | null): void => done(new Error(`child exited with ${code} before sending ${key}`));
    function done(err: Error | undefined, value?: T): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Pins every thread of `pid` to one core; false when the machine cannot (one core, no taskset). */
function pinTo(pid: number | undefined, cpu: number): boolean {
  if (!pin || pid === undefined || os.cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-pc', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let pinned = true;

interface Pair {
  server: ChildProcess;
  client: ChildProcess;
}

function spawnChild(file: string, argv: string[]): ChildProcess {
  const execArgv = cpuProfDir ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : process.execArgv;
  return fork(path.join(__dirname, 'rpc', file), argv, { stdio: 'inherit', execArgv });
}

async function startPair(t: TransportName): Promise<Pair> {
  const server = spawnChild('server.ts', [t]);
  const port = await nextMessage<number>(server, 'port', 30_000);
  const client = spawnChild('client.ts', [t, String(port)]);
  await nextMessage<boolean>(client, 'ready', 30_000);
  pinned = pinTo(server.pid, SERVER_CPU) && pinTo(client.pid, CLIENT_CPU) && pinned;
  if (cpuProfDir) console.log(`${t}: server pid ${server.pid}, client pid ${client.pid} (profiles CPU.*.<pid>.*.cpuprofile in ${cpuProfDir})`);
  return { server, client };
}

async function stopPair({ server, client }: Pair): Promise<void> {
  // A disconnect lets the children exit normally, which is when --cpu-prof writes its profile.
  const exited = (c: ChildProcess): Promise<void> => new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const timer = setTimeout(() => c.kill(), 10_000);
    c.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const done = Promise.all([exited(client), exited(server)]);
  for (const c of [client, server]) if (c.connected) c.disconnect();
  await done;
}

interface Measured extends PointResult {
  serverCpuPct: number;
  serverUserPct: number;
  round?: number;
}

async function serverCpu(server: ChildProcess): Promise<{ usage: NodeJS.CpuUsage; at: number }> {
  const reply = nextMessage<NodeJS.CpuUsage>(server, 'cpu', 10_000);
  server.send({ cpu: true });
  return { usage: await reply, at: performance.now() };
}


async function runPoint(pair: Pair, req: PointRequest): Promise<Measured> {
  const result = nextMessage<PointResult>(pair.client, 'result', 120_000);
  pair.client.send(req);
  // The server's CPU over (about) the client's measured window, sampled from here.
  await sleep(req.warmMs + 50);
  const a = await serverCpu(pair.server);
  await sleep(Math.max(0, req.measureMs - 100));
  const b = await serverCpu(pair.server);
  const pct = (us: number): number => Math.round((us / 1000 / (b.at - a.at)) * 1000) / 10;
  return { ...(await result), serverCpuPct: pct(b.usage.user - a.usage.user + b.usage.system - a.usage.system), serverUserPct: pct(b.usage.user - a.usage.user) };
}

/**
 * A/B (--base): per point, the medians over all rounds of calls/s and of CPU per call (client +
 * server), and the medians of their ratios within each round: on a loaded machine the median of
 * many short interleaved rounds is steadier than the best one.
 */
function abSummary(all: Measured[]): string {
  const lines = ['A/B, medians over all rounds: zk-ha vs zk-ha-base (CPU µs/call = client + server; paired = median of the per-round ratios)'];
  const cpuPerCall = (r: Measured): number => ((r.clientCpuPct + r.serverCpuPct) / 100) * 1e6 / r.callsPerSec;
  const userPerCall = (r: Measured): number => ((r.clientUserPct + r.serverUserPct) / 100) * 1e6 / r.callsPerSec;
  for (const p of payloads) {
    for (const c of concurrencies) {
      const of = (t: TransportName): Measured[] => all.filter((r) => r.transport === t && r.payload === p && r.concurrency === c && r.callsPerSec > 0);
      const a = of('zk-ha');
      const b = of('zk-ha-base');
      if (a.length === 0 || b.length === 0) continue;
      const ca = median(a.map((r) => r.callsPerSec));
      const cb = median(b.map((r) => r.callsPerSec));
      const ua = median(a.map(cpuPerCall));
      const ub = median(b.map(cpuPerCall));
      const rc = pairedMedian(a, b, (r) => r.callsPerSec) ?? Number.NaN;
      const ru = pairedMedian(a, b, cpuPerCall) ?? Number.NaN;
      const rUser = pairedMedian(a, b, userPerCall) ?? Number.NaN;
      lines.push(`  ${p} c=${c}: calls/s ${Math.round(ca)} vs ${Math.round(cb)} (paired ${Math.round(rc * 100)}%), CPU ${ua.toFixed(1)} vs ${ub.toFixed(1)} µs/call (paired ${Math.round(ru * 100)}%; user-space only ${Math.round(rUser * 100)}%), ${a.length} rounds`);
    }
  }
  return lines.join('\n');
}

void (async () => {
  const pairs = new Map<TransportName, Pair>();
  const best = new Map<string, Measured>();
  const all: Measured[] = [];
  const started = new Date();
  const load0 = os.loadavg();
  try {
    if (!fromSource && transports.includes('zk-ha')) process.env[ZKHA_LIB_ENV] = buildLib();
    for (const t of transports) pairs.set(t, await startPair(t));
    for (const p of payloads) {
      for (const c of concurrencies) {
        for (let round = 0; round < rounds; round++) {
          for (const t of roundOrder(transports, round)) {
            const r: Measured = { ...(await runPoint(pairs.get(t)!, { payload: p, concurrency: c, warmMs, measureMs })), round };
            all.push(r);
            const k = `${t}/${p}/${c}`;
            const prev = best.get(k);
            if (!prev || r.callsPerSec > prev.callsPerSec) best.set(k, r);
          }
          process.stderr.write('.');
        }
      }
    }
  } finally {
    await Promise.all([...pairs.values()].map(stopPair));
  }
  process.stderr.write('\n');
  const load1 = os.loadavg();
  const rowsOf = (t: TransportName, p: string, c: number): Measured[] => all.filter((r) => r.transport === t && r.payload === p && r.concurrency === c);
  const best1 = (t: TransportName, p: string, c: number): Measured | undefined => best.get(`${t}/${p}/${c}`);
  /** The median round of a transport at a point: each column is the median of that column over the rounds. */
  const get = (t: TransportName, p: string, c: number): Measured | undefined => {
    const rs = rowsOf(t, p, c);
    if (rs.length === 0) return undefined;
    const m = (f: (r: Measured) => number): number => Math.round(median(rs.map(f)) * 10) / 10;
    return { ...rs[0]!, callsPerSec: Math.round(median(rs.map((r) => r.callsPerSec))), p50us: m((r) => r.p50us), p99us: m((r) => r.p99us),
      clientCpuPct: m((r) => r.clientCpuPct), serverCpuPct: m((r) => r.serverCpuPct), clientUserPct: m((r) => r.clientUserPct), serverUserPct: m((r) => r.serverUserPct), round: undefined };
  };
  const pairedRatio = (a: TransportName, b: TransportName, p: string, c: number, f: (r: Measured) => number): number | undefined =>
    pairedMedian(rowsOf(a, p, c), rowsOf(b, p, c), f);
  const calls = (r: Measured): number => r.callsPerSec;
  const p99 = (r: Measured): number => r.p99us;
  const pct = (x: number | undefined): string => (x === undefined ? '—' : `${Math.round(x * 100)}%`);

  const headers = ['payload', 'c', 'transport', 'calls/s', 'p50 µs', 'p99 µs', 'vs ws-corked', 'vs tcp-corked', 'client CPU', 'server CPU', 'client µs/call', 'server µs/call', 'user µs/call'];
  // CPU time per call: what each side spends on one call, steadier than calls/s on a busy machine.
  const perCall = (cpuPctValue: number, callsPerSec: number): number => (callsPerSec > 0 ? Math.round((cpuPctValue / 100) * 1e6 / callsPerSec * 10) / 10 : Number.NaN);
  const rows: Cell[][] = [];
  for (const p of payloads) {
    for (const c of concurrencies) {
      for (const t of transports) {
        const r = get(t, p, c);
        if (!r) continue;
        rows.push([p, c, t, r.callsPerSec, r.p50us, r.p99us, pct(pairedRatio(t, 'ws-corked', p, c, calls)), pct(pairedRatio(t, 'tcp-corked', p, c, calls)), `${r.clientCpuPct}%`, `${r.serverCpuPct}%`,
          perCall(r.clientCpuPct, r.callsPerSec), perCall(r.serverCpuPct, r.callsPerSec), perCall(r.clientUserPct + r.serverUserPct, r.callsPerSec)]);
      }
    }
  }

  const checks: string[] = [];
  const check = (ok: boolean, text: string): void => {
    checks.push(`${ok ? 'MET ' : 'MISS'} ${text}`);
  };
  // What the old verdict (best round of each transport) would have said, for comparison.
  const bestRounds = (a: TransportName, b: TransportName, p: string, c: number, f: (r: Measured) => number): string => {
    const ra = best1(a, p, c);
    const rb = best1(b, p, c);
    return rounds > 1 && ra && rb ? `; best rounds ${f === p99 ? `${(f(ra) / f(rb)).toFixed(2)}x` : pct(f(ra) / f(rb))}` : '';
  };
  const grpcX = pairedRatio('zk-ha', 'grpc-js', 'small', 128, calls);
  if (grpcX !== undefined) check(grpcX >= 15, `zk-ha vs grpc-js calls/s, small c=128: ${grpcX.toFixed(1)}x (target >= 15x)`);
  for (const p of payloads.filter((x) => x !== 'buffer')) {
    for (const c of concurrencies) {
      const vsWs = pairedRatio('zk-ha', 'ws-corked', p, c, calls);
      const vsTcp = pairedRatio('zk-ha', 'tcp-corked', p, c, calls);
      if (vsWs !== undefined) check(vsWs >= 1, `zk-ha vs ws-corked calls/s, ${p} c=${c}: ${pct(vsWs)} (target >= 100%${bestRounds('zk-ha', 'ws-corked', p, c, calls)})`);
      if (vsTcp !== undefined) check(vsTcp >= 0.8, `zk-ha vs tcp-corked calls/s, ${p} c=${c}: ${pct(vsTcp)} (target >= 80%${bestRounds('zk-ha', 'tcp-corked', p, c, calls)})`);
      const p99x = c === 128 ? pairedRatio('zk-ha', 'ws-corked', p, c, p99) : undefined;
      if (p99x !== undefined) check(p99x <= 1.5, `zk-ha p99 vs ws-corked, ${p} c=${c}: ${p99x.toFixed(2)}x (target <= 1.5x${bestRounds('zk-ha', 'ws-corked', p, c, p99)})`);
    }
  }

  const conditions = {
    machine: machine(),
    pinned: pinned ? `server on CPU ${SERVER_CPU}, client on CPU ${CLIENT_CPU} (taskset)` : 'not pinned',
    loadavg: { before: load0.map((x) => Math.round(x * 10) / 10), after: load1.map((x) => Math.round(x * 10) / 10) },
    quick, rounds, warmMs, measureMs,
    zkha: fromSource ? 'TypeScript source through tsx' : 'lib/ compiled by tsc',
    verdict: 'median over the rounds of the ratio zk-ha / baseline in the same round; the order of the transports is reversed every other round',
  };
  console.log(`\n${formatTable(headers, rows)}`);
  if (checks.length) console.log(`\n${checks.join('\n')}`);
  console.log(`\n${conditions.pinned}; load average before ${conditions.loadavg.before.join(' ')}, after ${conditions.loadavg.after.join(' ')}`);
  if (baseLib !== undefined) console.log(`\n${abSummary(all)}`);
  if (!write) return;
  // The median rounds (as in the table); every round is in allRounds.
  const runs = transports.flatMap((t) => payloads.flatMap((p) => concurrencies.flatMap((c) => get(t, p, c) ?? [])));
  console.log(`wrote ${path.relative(process.cwd(), writeResult('rpc.json', { measuredAt: started.toISOString(), conditions, checks, runs, allRounds: all }))}`);
  const doc = [
    `Measured ${started.toISOString()} by \`npm run bench:rpc${quick ? ' -- --quick' : ''}\` on ${conditions.machine.cores} × ${conditions.machine.cpus}, Node ${conditions.machine.node};`,
    `${conditions.pinned}; each server and client in its own process over loopback; ${rounds} interleaved round(s) of ${warmMs} ms warm-up + ${measureMs} ms`,
    `per point (order reversed every other round); zk-ha ran ${conditions.zkha}; load average ${conditions.loadavg.before.join(' / ')} before, ${conditions.loadavg.after.join(' / ')} after.`,
    'Each row is the median round (every column the median over the rounds). "vs ws-corked"/"vs tcp-corked" and the verdicts: the median over the rounds of',
    'the calls/s (or p99) ratio to the corked raw baseline measured in the same round. CPU: % of one core over the measured window;',
    'µs/call: CPU time per call on each side (steadier than calls/s when other processes share the cores); user µs/call: the user-space part of both sides',
    '(JavaScript, V8, libuv), without the kernel\'s syscalls and wake-ups.',
    '',
    markdownTable(headers, rows),
    '',
    ...checks.map((c) => `- ${c}`),
  ].join('\n');
  const file = path.join(__dirname, '..', 'docs', 'performance-rpc.md');
  console.log(`wrote ${path.relative(process.cwd(), updateDocSection('rpc', doc, file, '# RPC transport performance\n'))}`);
})();
