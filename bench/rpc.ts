// RPC transport benchmark: zk-ha vs grpc-js vs raw ws + msgpackr vs raw TCP + msgpackr.
// Every server and every client runs in its own process on loopback. For each point the
// transports take turns (interleaved rounds, best round kept), so that the noise of a shared
// machine hits them alike.
//   npm run bench:rpc              full run (about 3 minutes)
//   npm run bench:rpc -- --quick   short run (under a minute)
//   options: --only=zk-ha,ws-msgpackr   --rounds=N
import { fork, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { PointRequest, PointResult } from './rpc/client';
import type { PayloadName } from './rpc/payloads';
import { TRANSPORTS, TransportName } from './rpc/transports';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',') as TransportName[] | undefined;
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (quick ? 1 : 3));
const warmMs = quick ? 200 : 500;
const measureMs = quick ? 700 : 1500;
const transports = only ?? [...TRANSPORTS];

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

interface Pair {
  server: ChildProcess;
  client: ChildProcess;
}

async function startPair(t: TransportName): Promise<Pair> {
  const server = fork(path.join(__dirname, 'rpc', 'server.ts'), [t], { stdio: 'inherit' });
  const port = await nextMessage<number>(server, 'port', 30_000);
  const client = fork(path.join(__dirname, 'rpc', 'client.ts'), [t, String(port)], { stdio: 'inherit' });
  await nextMessage<boolean>(client, 'ready', 30_000);
  return { server, client };
}

async function runPoint(pair: Pair, req: PointRequest): Promise<PointResult> {
  const result = nextMessage<PointResult>(pair.client, 'result', 60_000);
  pair.client.send(req);
  return result;
}

void (async () => {
  const pairs = new Map<TransportName, Pair>();
  const best = new Map<string, PointResult>();
  try {
    for (const t of transports) pairs.set(t, await startPair(t));
    for (const p of ['small', 'large'] as PayloadName[]) {
      for (const c of [1, 16, 128]) {
        for (let round = 0; round < rounds; round++) {
          for (const t of transports) {
            const r = await runPoint(pairs.get(t)!, { payload: p, concurrency: c, warmMs, measureMs });
            const k = `${t}/${p}/${c}`;
            const prev = best.get(k);
            if (!prev || r.callsPerSec > prev.callsPerSec) best.set(k, r);
          }
        }
      }
    }
  } finally {
    for (const { server, client } of pairs.values()) {
      client.kill();
      server.kill();
    }
  }
  const runs = transports.flatMap((t) => [...best.values()].filter((r) => r.transport === t));
  console.log('\ntransport      payload  conc   calls/s    p50 us    p99 us');
  for (const r of runs) {
    console.log(
      `${r.transport.padEnd(14)} ${r.payload.padEnd(7)} ${String(r.concurrency).padStart(5)} ${String(r.callsPerSec).padStart(9)} ${String(r.p50us).padStart(9)} ${String(r.p99us).padStart(9)}`,
    );
  }
  const get = (t: TransportName, p: string, c: number): PointResult | undefined => best.get(`${t}/${p}/${c}`);
  const checks: string[] = [];
  const zk128 = get('zk-ha', 'small', 128);
  const grpc128 = get('grpc-js', 'small', 128);
  if (zk128 && grpc128) {
    const x = zk128.callsPerSec / grpc128.callsPerSec;
    checks.push(`${x >= 10 ? 'MET ' : 'MISS'} zk-ha vs grpc-js calls/s at c=128 small: ${x.toFixed(1)}x (target >= 10x)`);
  }
  for (const r of runs.filter((x) => x.transport === 'zk-ha')) {
    const ws = get('ws-msgpackr', r.payload, r.concurrency);
    if (!ws) continue;
    const share = r.callsPerSec / ws.callsPerSec;
    checks.push(`${share >= 0.85 ? 'MET ' : 'MISS'} zk-ha vs ws-msgpackr calls/s ${r.payload} c=${r.concurrency}: ${(share * 100).toFixed(0)}% (target >= 85%)`);
    if (r.concurrency === 1) {
      const ratio = r.p50us / ws.p50us;
      checks.push(`${ratio <= 1.2 ? 'MET ' : 'MISS'} zk-ha p50 vs ws-msgpackr ${r.payload} c=1: ${ratio.toFixed(2)}x (target <= 1.2x)`);
    }
  }
  if (checks.length) console.log(`\n${checks.join('\n')}`);
  const out = path.join(__dirname, 'results', 'rpc.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ quick, rounds, warmMs, measureMs, measuredAt: new Date().toISOString(), runs }, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
})();
