import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ZkCluster } from '../harness';
import { sleep } from '../support/wait';
import { checkHistory, type CheckResult } from './checker';
import type { ClientCall, History } from './history';
import type { Scenario } from './scenarios';
import { Testbed, type TestbedOptions } from './testbed';

export interface TrialResult {
  readonly scenario: string;
  readonly history: History;
  readonly check: CheckResult;
  readonly calls: number;
  readonly failedCalls: number;
  /** Failed calls by "code/idempotent|non-idempotent/outcome known|unknown". */
  readonly failedBy: Record<string, number>;
  /** From the end of the heal action until the group was whole and serving again; undefined = never. */
  readonly rejoinMs: number | undefined;
}

export const DEFAULT_TESTBED: TestbedOptions = {
  sessionTimeoutMs: 1500,
  clientSessionTimeoutMs: 3000,
  servers: 3,
  clients: 2,
  concurrency: 3,
};

/**
 * One trial: a fresh group under steady load, the fault and its heal, recovery, then the checker
 * over everything every server ran and every client saw.
 */
export async function runTrial(zk: ZkCluster, scenario: Scenario, options: TestbedOptions = DEFAULT_TESTBED): Promise<TrialResult> {
  const bed = new Testbed(zk, scenario.replicated ? { ...options, replicated: true, replication: scenario.replication } : options);
  try {
    await bed.start();
    bed.startLoad();
    await sleep(400);
    await bed.allInSync();
    try {
      await scenario.inject(bed);
    } catch (error) {
      // The run log keeps the first lines: say what the servers did, not only what the runner waited for.
      throw new Error(`${(error as Error).message}\n    ${bed.story()}`);
    }
    const recovery = await bed.recover();
    await sleep(300); // steady load on the healed group
    await bed.stopLoad();
    const states = scenario.replicated ? await bed.states() : undefined;
    const history: History = { runs: await bed.runs(), calls: bed.calls(), recovery, marks: bed.marks, states };
    const check = checkHistory(history);
    if (check.violations.length > 0) dumpHistory(scenario.name, history);
    const failed = history.calls.filter((c) => c.outcome === 'error');
    return {
      scenario: scenario.name,
      history,
      check,
      calls: history.calls.length,
      failedCalls: failed.length,
      failedBy: countFailures(failed),
      rejoinMs: recovery.rejoinedAt === undefined ? undefined : Number(recovery.rejoinedAt - recovery.healedAt) / 1e6,
    };
  } finally {
    await bed.close();
    await restoreEnsemble(zk);
  }
}

/**
 * CHAOS_DUMP_DIR=<dir>: the whole history of each trial with a violation, as JSON (bigints as
 * strings), to read what the checker's examples leave out — e.g. when a late call was sent.
 */
function dumpHistory(scenario: string, history: History): void {
  const dir = process.env.CHAOS_DUMP_DIR;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${scenario}-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(history, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 1));
}

export function failureKey(c: ClientCall): string {
  return `${c.code}/${c.idempotent ? 'idempotent' : 'non-idempotent'}/${c.notExecuted ? 'not executed' : 'outcome unknown'}`;
}

function countFailures(failed: readonly ClientCall[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of failed) out[failureKey(c)] = (out[failureKey(c)] ?? 0) + 1;
  return out;
}

/** Every node running and serving again before the next trial. */
async function restoreEnsemble(zk: ZkCluster): Promise<void> {
  await zk.regainQuorum();
  await zk.waitReady();
}
