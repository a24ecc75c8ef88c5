// RPC transport benchmark: zk-ha vs grpc-js vs raw ws + msgpackr vs raw TCP + msgpackr.
// Each server and each client runs in its own process on loopback.
//   npm run bench:rpc              full run (about 2.5 minutes)
//   npm run bench:rpc -- --quick   short run (under a minute)
//   options: --only=zk-ha,ws-msgpackr   --rounds=N (best of N per point)
import { fork, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { PointResult } from './rpc/client';
import { TRANSPORTS, TransportName } from './rpc/transports';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',') as TransportName[] | undefined;
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (quick ? 1 : 2));
const warmMs = quick ? 250 : 1000;
const measureMs = quick ? 900 : 3000;
const transports = only ?? [...TRANSPORTS];

function message<T>(child: ChildProcess, key: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${key}`)), timeoutMs);
    child.on('message', (m: Record<string, unknown>) => {
      if (key in m) {
        clearTimeout(timer);
        resolve(m[key] as T);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code} before sending ${key}`));
    });
  });
}

async function runTransport(t: TransportName): Promise<PointResult[]> {
  const server = fork(path.join(__dirname, 'rpc', 'server.ts'), [t], { stdio: 'inherit' });
  try {
    const port = await message<number>(server, 'port', 30_000);
    const client = fork(path.join(__dirname, 'rpc', 'client.ts'), [t, String(port), String(warmMs), String(measureMs)], { stdio: 'inherit' });
    try {
      return await message<PointResult[]>(client, 'results', 120_000);
    } finally {
      client.kill();
    }
  } finally {
    server.kill();
  }
}

function key(r: PointResult): string {
  return `${r.transport}/${r.payload}/${r.concurrency}`;
}

void (async () => {
  const best = new Map<string, PointResult>();
  for (let round = 0; round < rounds; round++) {
    for (const t of transports) {
      for (const r of await runTransport(t)) {
        const prev = best.get(key(r));
        if (!prev || r.callsPerSec > prev.callsPerSec) best.set(key(r), r);
      }
    }
  }
  const runs = [...best.values()];
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
  fs.writeFileSync(out, `${JSON.stringify({ quick, rounds, measuredAt: new Date().toISOString(), runs }, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
})();
