import { execFileSync } from 'child_process';
import * as fs from 'fs';
import type { ScenarioSummary } from './report';

/** One scenario's result as bench/results/chaos.json keeps it: the summary and when/how it was run. */
export interface StoredScenario extends ScenarioSummary {
  /** ISO time the scenario's run ended. */
  readonly date?: string;
  readonly minutes?: number;
  readonly sessionTimeoutMs?: number;
  /** The commit the scenario ran on ("-dirty": with uncommitted changes to lib/ or integration/). */
  readonly commit?: string;
}

export interface StoredResults {
  readonly scenarios: readonly StoredScenario[];
  readonly meta: {
    /** "20", or "19-20" when scenarios were run with different counts (chunked runs merged). */
    readonly trialsPerScenario: string;
    readonly sessionTimeoutMs: number;
    /** Sum over the scenarios' runs. */
    readonly minutes: number;
    readonly date: string;
  };
}

/** The stored results, or none when the file is missing or not ours. */
export function readStored(file: string): StoredScenario[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const parsed = JSON.parse(text) as { scenarios?: unknown };
  if (!Array.isArray(parsed.scenarios)) throw new Error(`${file}: no "scenarios" array; refusing to merge into it`);
  return parsed.scenarios as StoredScenario[];
}

/**
 * Chunked runs: the scenarios run now replace their stored results, every other stored one is
 * kept. Ordered as `order` (the suite's), unknown names last in their stored order.
 */
export function mergeResults(stored: readonly StoredScenario[], fresh: readonly StoredScenario[], order: readonly string[]): StoredScenario[] {
  const byName = new Map<string, StoredScenario>();
  for (const s of stored) byName.set(s.fault, s);
  for (const s of fresh) byName.set(s.fault, s);
  const rank = (name: string): number => {
    const i = order.indexOf(name);
    return i < 0 ? order.length : i;
  };
  return [...byName.values()].sort((a, b) => rank(a.fault) - rank(b.fault));
}

/** The meta block of a (possibly merged) result set. */
export function resultsMeta(rows: readonly StoredScenario[], sessionTimeoutMs: number): StoredResults['meta'] {
  const counts = rows.map((r) => r.trials);
  const lo = Math.min(...counts);
  const hi = Math.max(...counts);
  const minutes = rows.reduce((n, r) => n + (r.minutes ?? 0), 0);
  return {
    trialsPerScenario: rows.length === 0 ? '0' : lo === hi ? String(lo) : `${lo}-${hi}`,
    sessionTimeoutMs,
    minutes: Number(minutes.toFixed(1)),
    date: new Date().toISOString(),
  };
}

/** The commit under test, for the record of each scenario's run. */
export function currentCommit(root: string): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib', 'integration'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return undefined;
  }
}
