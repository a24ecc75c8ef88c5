// Self time by function of the V8 CPU profiles in a directory (e.g. `npm run bench:scale -- --cpu-prof=DIR`),
// summed over every *.cpuprofile there; shares are of the busy time (idle samples left out).
//   tsx bench/profile-summary.ts DIR|FILE... [--top=N] [--markdown]
// Line numbers are exact for compiled JavaScript (e.g. an A/B --base built with tsc); under tsx they are not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flag, positiveInt } from './lib/args';
import { byArea, type CpuProfile, selfTimes } from './lib/cpuprofile';
import { formatTable, markdownTable } from './lib/table';

const inputs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (inputs.length === 0) throw new Error('usage: tsx bench/profile-summary.ts DIR|FILE... [--top=N] [--markdown]');
const top = positiveInt('top', 25);
const files = inputs.flatMap((p) => (fs.statSync(p).isDirectory() ? fs.readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(p, f)) : [p]));
if (files.length === 0) throw new Error(`no .cpuprofile in ${inputs.join(' ')}`);
const profiles = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as CpuProfile);
const times = selfTimes(profiles);
const wall = profiles.reduce((s, p) => s + (p.endTime - p.startTime) / 1000, 0);
const idle = times.filter((t) => t.area === 'idle').reduce((s, t) => s + t.ms, 0);
const busy = times.filter((t) => t.area !== 'idle');
const busyMs = busy.reduce((s, t) => s + t.ms, 0);
const pct = (ms: number): string => `${((100 * ms) / busyMs).toFixed(1)} %`;
const table = flag('markdown') ? markdownTable : formatTable;
console.log(`${files.length} profiles, ${(wall / 1000).toFixed(1)} s of profile time, busy ${(busyMs / 1000).toFixed(2)} s (idle ${(idle / 1000).toFixed(2)} s)\n`);
console.log(table(['area', 'self ms', 'share of busy'], byArea(busy).map((a) => [a.area, Math.round(a.ms), pct(a.ms)])));
console.log();
console.log(table(['function (self time)', 'area', 'self ms', 'share of busy'], busy.slice(0, top).map((t) => [t.key, t.area, Math.round(t.ms), pct(t.ms)])));
