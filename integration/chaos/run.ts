/**
 * The fault-injection suite: every scenario N times under steady load, each trial judged by the
 * checker; writes docs/reliability.md and bench/results/chaos.json.
 *
 *   npm run chaos                      full pass (20 trials per scenario)
 *   npm run chaos -- --quick           short pass (2 trials per scenario)
 *   npm run chaos -- --trials 5 --only primary-sigkill,primary-sigstop [--no-write]
 *   npm run chaos -- --only repl-primary-sigkill --merge   chunked runs: replace these scenarios'
 *                                      stored results, keep the others'
 *
 * Results are written after every scenario, so an interrupted run keeps what it finished.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { startZooKeeper, killAllTracked } from '../harness';
import { renderDoc } from './doc';
import { summarize, table, type ScenarioSummary } from './report';
import { currentCommit, mergeResults, readStored, resultsMeta, type StoredScenario } from './results';
import { SCENARIOS, scenario } from './scenarios';
import { runTrial, DEFAULT_TESTBED, type TrialResult } from './trial';

async function main(): Promise<number> {
  const program = new Command()
    .option('--quick', 'short pass: 2 trials per scenario')
    .option('--trials <n>', 'trials per scenario (default 20, or 2 with --quick)')
    .option('--only <names>', 'comma-separated scenario names')
    .option('--no-write', 'do not write docs/reliability.md and bench/results/chaos.json')
    .option('--merge', "keep the stored results of scenarios not run now (chunked runs)")
    .parse(process.argv);
  const opts = program.opts<{ quick?: boolean; trials?: string; only?: string; write: boolean; merge?: boolean }>();
  const trials = opts.trials !== undefined ? Number(opts.trials) : opts.quick ? 2 : 20;
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer, got ${opts.trials}`);
  const chosen = opts.only ? opts.only.split(',').map((n) => scenario(n.trim())) : SCENARIOS;
  const root = path.join(__dirname, '..', '..');
  const log = (line: string): void => { process.stderr.write(`[chaos] ${line}\n`); };
  const jsonFile = path.join(root, 'bench', 'results', 'chaos.json');
  const stored = opts.merge ? readStored(jsonFile) : [];
  const done: StoredScenario[] = [];
  const commit = currentCommit(root);
  const save = (): void => {
    const merged = mergeResults(stored, done, SCENARIOS.map((s) => s.name));
    const meta = resultsMeta(merged, DEFAULT_TESTBED.sessionTimeoutMs);
    fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
    fs.writeFileSync(jsonFile, `${JSON.stringify({ scenarios: merged, meta }, null, 2)}\n`);
    fs.writeFileSync(path.join(root, 'docs', 'reliability.md'), renderDoc(merged, meta));
    log(`wrote docs/reliability.md and bench/results/chaos.json (${merged.length} scenario(s))`);
  };

  const started = Date.now();
  const zk = await startZooKeeper({ nodes: 3 });
  const rows: ScenarioSummary[] = [];
  try {
    for (const s of chosen) {
      const t0 = Date.now();
      const results: TrialResult[] = [];
      const errors: string[] = [];
      for (let i = 0; i < trials; i++) {
        try {
          const r = await runTrial(zk, s);
          results.push(r);
          log(`${s.name} #${i + 1}: ${r.calls} calls, ${r.failedCalls} failed, rejoin ${r.rejoinMs?.toFixed(0) ?? 'never'} ms, ` +
            `${r.check.violations.length} violation(s)${r.check.violations.map((v) => `\n    ${v.kind}: ${v.message}`).join('')}`);
        } catch (error) {
          errors.push(String((error as Error).message ?? error));
          log(`${s.name} #${i + 1}: trial could not run: ${(error as Error).message}`);
        }
      }
      const row = summarize(s.name, results, errors);
      rows.push(row);
      done.push({ ...row, date: new Date().toISOString(), minutes: Number(((Date.now() - t0) / 60000).toFixed(1)), sessionTimeoutMs: DEFAULT_TESTBED.sessionTimeoutMs, commit });
      if (opts.write) save();
    }
  } finally {
    await zk.close();
    killAllTracked();
  }
  const minutes = (Date.now() - started) / 60000;
  process.stdout.write(`\n${table(rows)}\n\n${minutes.toFixed(1)} min\n`);
  const bad = rows.some((r) => r.splitBrain > 0 || r.duplicateExecutions > 0 || Object.keys(r.violations).length > 0 || r.errors.length > 0);
  return bad ? 1 : 0;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  killAllTracked();
  process.exit(2);
});
