/**
 * The failover chart: unavailability per fault, zk-ha beside Apache Curator and kazoo, from
 * bench/results/failover.json (p50 bars, p99 whiskers, one panel per session timeout). By default it
 * is written under .tmp/charts/ (git-ignored), so running a bench or the demo leaves the tree
 * clean; docs/ only when asked (`--chart=docs`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RESULTS_DIR } from './results';
import { renderBarChart, type BarPanel, type BarSeries } from './svg-chart';

export const REPO_ROOT = path.join(__dirname, '..', '..');
export const CHART_DIR = path.join(REPO_ROOT, '.tmp', 'charts');
export const DOCS_DIR = path.join(REPO_ROOT, 'docs');

interface Row {
  readonly system: string;
  readonly measure: 'election' | 'client';
  readonly fault: string;
  readonly sessionTimeoutMs: number;
  readonly unavailableMs: { readonly p50: number; readonly p99: number };
}

export const FAULT_LABELS: Record<string, string> = {
  handover: 'graceful handover', sigkill: 'SIGKILL leader', sigstop: 'SIGSTOP leader', 'zk-leader-loss': 'ZooKeeper leader lost', partition: 'network partition',
};

const SERIES: readonly { name: string; color: string; match: (r: Row) => boolean }[] = [
  { name: 'zk-ha (client-observed)', color: '#1d4ed8', match: (r) => r.system === 'zk-ha' && r.measure === 'client' },
  { name: 'zk-ha (election)', color: '#60a5fa', match: (r) => r.system === 'zk-ha' && r.measure === 'election' },
  { name: 'Curator LeaderLatch', color: '#f59e0b', match: (r) => r.system === 'curator' },
  { name: 'kazoo Election', color: '#10b981', match: (r) => r.system === 'kazoo' },
];

export function readFailoverRows(file = path.join(RESULTS_DIR, 'failover.json')): { rows: Row[]; measuredAt: string; trials: number | undefined } {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { scenarios: (Row & { trials?: number })[]; measuredAt: string };
  return { rows: json.scenarios, measuredAt: json.measuredAt, trials: json.scenarios[0]?.trials };
}

/** The SVG of failover.json: one panel per session timeout, one group per fault. */
export function failoverChartSvg(rows: readonly Row[], subtitle: string): string {
  const timeouts = [...new Set(rows.map((r) => r.sessionTimeoutMs))].sort((a, b) => a - b);
  const faults = Object.keys(FAULT_LABELS).filter((f) => rows.some((r) => r.fault === f));
  const panels: BarPanel[] = timeouts.map((t) => ({
    title: `session timeout ${t} ms`,
    groups: faults.map((f) => FAULT_LABELS[f]!),
    series: SERIES.map((s): BarSeries => {
      const pick = (f: string): Row | undefined => rows.find((r) => r.sessionTimeoutMs === t && r.fault === f && s.match(r));
      return { name: s.name, color: s.color, values: faults.map((f) => pick(f)?.unavailableMs.p50 ?? null), whiskers: faults.map((f) => pick(f)?.unavailableMs.p99 ?? null) };
    }),
  }));
  return renderBarChart({ title: 'Unavailability per fault (ms): bars p50, whiskers p99 — lower is better', subtitle, yLabel: 'ms', panels });
}

/** Where a chart goes: .tmp/charts/<name> unless `--chart=docs` is among the arguments (then docs/<name>). */
export function chartPath(name: string, argv: readonly string[] = process.argv): string {
  const dir = argv.includes('--chart=docs') ? DOCS_DIR : CHART_DIR;
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

export function writeFailoverChart(file: string): string {
  const { rows, measuredAt, trials } = readFailoverRows();
  fs.writeFileSync(file, failoverChartSvg(rows, `bench/results/failover.json, ${trials ?? '?'} trials per bar, measured ${measuredAt.slice(0, 10)}; 3-node ZooKeeper, same faults for every system`));
  return file;
}
