import type { Violation, ViolationKind } from './checker';
import { SCENARIOS } from './scenarios';
import type { TrialResult } from './trial';

export interface ScenarioSummary {
  fault: string;
  trials: number;
  calls: number;
  failedCalls: number;
  /** Trials in which the checker found split brain. */
  splitBrain: number;
  duplicateExecutions: number;
  rejoinMs: { p50: number; p99: number };
  /** Everything else the checker found, by kind (all zero when the library holds). */
  violations: Partial<Record<ViolationKind, number>>;
  failedBy: Record<string, number>;
  /** Trials that could not run to the end (harness or setup trouble, not a checker finding). */
  errors: string[];
  /** The first violations, with their history excerpt. */
  examples: unknown[];
}

export function nearestRank(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarize(name: string, trials: readonly TrialResult[], errors: readonly string[]): ScenarioSummary {
  const violations: Partial<Record<ViolationKind, number>> = {};
  const failedBy: Record<string, number> = {};
  const examples: unknown[] = [];
  for (const t of trials) {
    for (const v of t.check.violations) {
      violations[v.kind] = (violations[v.kind] ?? 0) + 1;
      if (examples.length < 5) examples.push({ ...(excerpt(v) as object), marks: toJson(t.history.marks ?? []) });
    }
    for (const [k, n] of Object.entries(t.failedBy)) failedBy[k] = (failedBy[k] ?? 0) + n;
  }
  const rejoin = trials.map((t) => t.rejoinMs).filter((x): x is number => x !== undefined);
  return {
    fault: name,
    trials: trials.length,
    calls: trials.reduce((n, t) => n + t.calls, 0),
    failedCalls: trials.reduce((n, t) => n + t.failedCalls, 0),
    splitBrain: trials.filter((t) => t.check.splitBrain).length,
    duplicateExecutions: trials.reduce((n, t) => n + t.check.duplicateExecutions, 0),
    rejoinMs: { p50: round(nearestRank(rejoin, 0.5)), p99: round(nearestRank(rejoin, 0.99)) },
    violations,
    failedBy,
    errors: [...errors],
    examples,
  };
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x) : 0;
}

/** A violation as JSON (bigint times as strings). */
export function excerpt(v: Violation): unknown {
  return toJson(v);
}

function toJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
}

export function table(rows: readonly ScenarioSummary[]): string {
  const head = '| fault | trials | calls | failed calls | split-brain runs | duplicate executions | ran but reported not executed | other violations | rejoin p50 (ms) | rejoin p99 (ms) |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map((r) => {
    const other = Object.entries(r.violations).filter(([k]) => !['split-brain', 'unfenced-run', 'duplicate-execution', 'executed-not-reported'].includes(k))
      .map(([k, n]) => `${k}: ${n}`).join(', ') || '0';
    const desc = SCENARIOS.find((s) => s.name === r.fault)?.fault ?? r.fault;
    return `| \`${r.fault}\` — ${desc} | ${r.trials} | ${r.calls} | ${r.failedCalls} | ${r.splitBrain} | ${r.duplicateExecutions} | ${r.violations['executed-not-reported'] ?? 0} | ${other} | ${r.rejoinMs.p50} | ${r.rejoinMs.p99} |`;
  });
  return [head, sep, ...lines].join('\n');
}

export function failuresTable(rows: readonly ScenarioSummary[]): string {
  const lines: string[] = ['| fault | failed calls by code / idempotency / outcome |', '|---|---|'];
  for (const r of rows) {
    const by = Object.entries(r.failedBy).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join('; ');
    lines.push(`| \`${r.fault}\` | ${by || 'none'} |`);
  }
  return lines.join('\n');
}

/** Replicated scenarios: what the durability checker found (durability.ts), per scenario. */
export function durabilityTable(rows: readonly ScenarioSummary[]): string {
  const head = '| fault | trials | acknowledged writes | lost-ack | applied-twice | phantom-write | divergence |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map((r) => {
    const n = (k: ViolationKind): number => r.violations[k] ?? 0;
    return `| \`${r.fault}\` | ${r.trials} | ${r.calls - r.failedCalls} | ${n('lost-ack')} | ${n('applied-twice')} | ${n('phantom-write')} | ${n('divergence')} |`;
  });
  return [head, sep, ...lines].join('\n');
}
