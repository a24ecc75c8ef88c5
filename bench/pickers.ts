// Picker benchmark: nanoseconds per pick() for every balancer at n = 3, 100 and 1000 endpoints,
// plus the time to build the picker (what a membership or health change costs).
//   npx tsx bench/pickers.ts            (about 15 s)
//   npx tsx bench/pickers.ts --quick    (about 4 s)
// Writes bench/results/pickers.json and prints a table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BalancerName, Picker, RoutedEndpoint } from '../lib/routing';
import { BALANCER_NAMES, createBalancer, createEndpoint, recordLatency, seededRandom } from '../lib/routing';

const quick = process.argv.includes('--quick');
const SIZES = [3, 100, 1000];
const MEASURE_MS = quick ? 60 : 250;
const ROUNDS = quick ? 2 : 3;
const KEYS = Array.from({ length: 4096 }, (_, i) => `user:${i * 7919}`);

type Loop = (picker: Picker, keys: readonly string[], iterations: number) => number;

/**
 * A fresh copy of the timing loop per measurement, so that its pick() call site only ever sees
 * one picker class (as in a client, which uses one balancer) instead of going megamorphic.
 */
function freshLoop(): Loop {
  return new Function(
    'picker',
    'keys',
    'iterations',
    'let hits = 0; for (let i = 0; i < iterations; i++) if (picker.pick(keys[i & 4095]) !== undefined) hits++; return hits;',
  ) as Loop;
}

function makeEndpoints(n: number): RoutedEndpoint[] {
  const random = seededRandom(n);
  return Array.from({ length: n }, (_, i) => {
    const ep = createEndpoint(`m-${String(i).padStart(10, '0')}`, `ws://127.0.0.1:${10_000 + i}`, 1 + (i % 5));
    ep.outstanding = Math.floor(random() * 8);
    recordLatency(ep, 200 + random() * 800, i);
    return ep;
  });
}

interface Row {
  balancer: BalancerName;
  endpoints: number;
  nsPerPick: number;
  buildUs: number;
}

function measure(name: BalancerName, n: number): Row {
  const eps = makeEndpoints(n);
  const balancer = createBalancer(name, { random: seededRandom(1) });
  for (let i = 0; i < 3; i++) balancer.build(eps); // warm up the build path
  let picker = balancer.build(eps);
  let buildUs = Number.POSITIVE_INFINITY; // best of rounds: the machine may be shared
  for (let round = 0; round < ROUNDS; round++) {
    let builds = 0;
    const buildStart = process.hrtime.bigint();
    let buildNs = 0;
    while (buildNs < MEASURE_MS * 1e5 || builds < 3) {
      picker = balancer.build(eps);
      builds++;
      buildNs = Number(process.hrtime.bigint() - buildStart);
    }
    buildUs = Math.min(buildUs, buildNs / builds / 1000);
  }

  const loop = freshLoop();
  // Calibrate: grow the batch until it takes ~10 ms, then time enough batches.
  let batch = 1000;
  while (true) {
    const t0 = process.hrtime.bigint();
    loop(picker, KEYS, batch);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= 10 || batch >= 1 << 26) break;
    batch *= 2;
  }
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    let picks = 0;
    const t0 = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < MEASURE_MS * 1e6) {
      picks += loop(picker, KEYS, batch);
      elapsed = Number(process.hrtime.bigint() - t0);
    }
    best = Math.min(best, elapsed / picks);
  }
  return { balancer: name, endpoints: n, nsPerPick: Math.round(best * 10) / 10, buildUs: Math.round(buildUs * 10) / 10 };
}

const rows: Row[] = [];
for (const name of BALANCER_NAMES) for (const n of SIZES) rows.push(measure(name, n));

const header = ['balancer', ...SIZES.map((n) => `n=${n} ns/pick`), ...SIZES.map((n) => `n=${n} build µs`)];
const table = BALANCER_NAMES.map((name) => {
  const mine = rows.filter((r) => r.balancer === name);
  return [name, ...mine.map((r) => r.nsPerPick.toFixed(1)), ...mine.map((r) => r.buildUs.toFixed(1))];
});
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of table) console.log(line(r));

const out = path.join(__dirname, 'results', 'pickers.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(
  out,
  `${JSON.stringify(
    {
      quick,
      measuredAt: new Date().toISOString(),
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      note: 'best of rounds; ns per pick() including the loop; build = building the picker from n endpoints',
      runs: rows,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwritten to ${path.relative(process.cwd(), out)}`);
