import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHART_DIR, DOCS_DIR, readFailoverRows } from '../../bench/lib/failover-chart';
import { renderBarChart, type BarSeries } from '../../bench/lib/svg-chart';
import type { FaultWindow, FailedCall } from './call-load';

/**
 * The demo is green when no idempotent call failed at all, and every failed non-idempotent call is
 * "outcome unknown" (it was in flight to a process that was killed or frozen, so the client cannot
 * know whether it ran and must not retry it), happened during such a hard fault, and there were at
 * most as many as there are non-idempotent loops (each loop has one call in flight at a time).
 */
export const GREEN_RULE = 'green = no idempotent call failed; a non-idempotent call failed only as "outcome unknown" '
  + '(in flight to a process that was SIGKILLed/SIGSTOPped), at most one per non-idempotent loop per such fault; '
  + 'no call failed outside the faults or during graceful/ZooKeeper faults; every fault ended with calls succeeding again; '
  + 'no answer came from an epoch older than one already answered when the call was sent.';

/** Primary/backup: the counter is replicated state. */
export const COUNTER_RULE = 'counter = every acknowledged increment is counted once across failovers: no two increments '
  + 'were acknowledged with the same value, and the final value lies between the acknowledged and the sent increments.';

/**
 * The replicated counter's check: each increment by 1 returns the new value, so acknowledged
 * values are all different unless a promoted backup lost acknowledged increments and counted them
 * again; at the end the counter holds every acknowledged increment, and at most every sent one.
 */
export function judgeCounter(ackedValues: readonly number[], finalValue: number | undefined, sent: number): string[] {
  const problems: string[] = [];
  const seen = new Set<number>();
  const repeated: number[] = [];
  for (const v of ackedValues) {
    if (seen.has(v)) repeated.push(v);
    seen.add(v);
  }
  if (repeated.length > 0) problems.push(`counter: ${repeated.length} value(s) acknowledged twice (acknowledged increments lost in a failover), first ${repeated[0]}`);
  if (finalValue === undefined) problems.push('counter: the final value could not be read');
  else if (finalValue < ackedValues.length || finalValue > sent) {
    problems.push(`counter: final value ${finalValue} is outside [${ackedValues.length} acknowledged, ${sent} sent]`);
  }
  return problems;
}

export interface Verdict {
  readonly green: boolean;
  readonly problems: string[];
}

const isUnknown = (f: FailedCall): boolean => !f.idempotent && !f.notExecuted;

export function judge(windows: readonly FaultWindow[], steadyFailures: readonly FailedCall[], nonIdempotentLoops: number, recovered: (w: FaultWindow) => boolean): Verdict {
  const problems: string[] = [];
  if (steadyFailures.length > 0) problems.push(`${steadyFailures.length} call(s) failed outside the faults (first: ${describe(steadyFailures[0]!)})`);
  for (const w of windows) {
    const unexpected = w.failed.filter((f) => !(w.hard && isUnknown(f)));
    if (unexpected.length > 0) problems.push(`${w.name}: ${unexpected.length} call(s) failed that must not (first: ${describe(unexpected[0]!)})`);
    const unknown = w.failed.filter(isUnknown).length;
    if (w.hard && unknown > nonIdempotentLoops) problems.push(`${w.name}: ${unknown} outcome-unknown failures, more than the ${nonIdempotentLoops} calls that can be in flight`);
    if (!recovered(w)) problems.push(`${w.name}: calls did not succeed again after the fault`);
  }
  return { green: problems.length === 0, problems };
}

function describe(f: FailedCall): string {
  return `${f.method} ${f.code}${f.notExecuted ? '' : ' (outcome unknown)'}: ${f.message}`;
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : String(Math.round(v)));

/** The summary table: one row per fault. */
export function summaryTable(windows: readonly FaultWindow[], primaryBackup: boolean): string[] {
  const header = primaryBackup
    ? ['fault', 'unavailable ms', 'new primary ms', 'failover report ms', 'calls', 'failed', 'outcome unknown']
    : ['fault', 'unavailable ms', 'calls', 'failed', 'outcome unknown'];
  const rows = windows.map((w) => {
    const unknown = w.failed.filter(isUnknown).length;
    const reports = w.failoverReportsMs.length === 0 ? '-' : w.failoverReportsMs.map((v) => ms(v)).join(', ');
    return primaryBackup
      ? [w.name, ms(w.maxGapMs), ms(w.newPrimaryMs), reports, String(w.calls), String(w.failed.length), String(unknown)]
      : [w.name, ms(w.maxGapMs), String(w.calls), String(w.failed.length), String(unknown)];
  });
  return table(header, rows);
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Demo fault names → the failover bench's faults, for the comparison with Curator and kazoo. */
const BENCH_FAULT: Record<string, string> = {
  'SIGKILL primary': 'sigkill', 'SIGSTOP primary': 'sigstop', 'SIGTERM primary (graceful)': 'handover', 'ZooKeeper leader SIGKILL': 'zk-leader-loss',
};

/**
 * The summary as an SVG bar chart: this run's unavailability per fault and, in primary/backup mode,
 * Curator's and kazoo's p50 on the same fault from bench/results/failover.json (the session
 * timeout nearest to this run's). Written to .tmp/charts/demo-<mode>.svg (git-ignored) unless
 * `--chart docs`; returns the path.
 */
export function writeSummaryChart(windows: readonly FaultWindow[], primaryBackup: boolean, sessionTimeoutMs: number, where: 'tmp' | 'docs'): string {
  const groups = windows.map((w) => w.name);
  const series: BarSeries[] = [{ name: 'zk-ha (this demo run)', color: '#1d4ed8', values: windows.map((w) => Math.round(primaryBackup ? (w.newPrimaryMs ?? w.maxGapMs) : w.maxGapMs)) }];
  let note = '';
  if (primaryBackup) {
    try {
      const { rows } = readFailoverRows();
      const timeouts = [...new Set(rows.map((r) => r.sessionTimeoutMs))];
      const t = timeouts.sort((a, b) => Math.abs(a - sessionTimeoutMs) - Math.abs(b - sessionTimeoutMs))[0];
      for (const [system, name, color] of [['curator', 'Curator LeaderLatch (bench p50)', '#f59e0b'], ['kazoo', 'kazoo Election (bench p50)', '#10b981']] as const) {
        series.push({ name, color, values: windows.map((w) => rows.find((r) => r.system === system && r.sessionTimeoutMs === t && r.fault === BENCH_FAULT[w.name])?.unavailableMs.p50 ?? null) });
      }
      note = `\nCurator and kazoo: p50 of the same fault in bench/results/failover.json (session timeout ${t} ms)`;
    } catch {
      note = '\nno bench/results/failover.json to compare with';
    }
  }
  const svg = renderBarChart({
    title: `zk-ha demo (${primaryBackup ? 'primary/backup' : 'redundant'}): unavailability per fault (ms)`,
    subtitle: `session timeout ${sessionTimeoutMs} ms; zk-ha = ${primaryBackup ? 'fault → first call answered by the new primary (where the primary stayed: the longest gap between successful calls)' : 'longest gap between successful calls'}${note}`,
    yLabel: 'ms',
    panels: [{ title: '', groups, series }],
    panelWidth: Math.max(760, 130 * groups.length),
  });
  const dir = where === 'docs' ? DOCS_DIR : CHART_DIR;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `demo-${primaryBackup ? 'pb' : 'redundant'}.svg`);
  fs.writeFileSync(file, svg);
  return file;
}
