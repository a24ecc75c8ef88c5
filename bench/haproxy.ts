// Failover through HAProxy: a plain ws client with no ZooKeeper access calls through a real HAProxy
// kept in step by `zk-ha haproxy`, beside an HaClient calling the same group directly, on the same
// faults (SIGKILL and SIGSTOP of the primary). Unavailability = fault → first call answered by the
// new primary. Also counted: calls HAProxy routed to a member that was not the primary (refused
// NOT_PRIMARY, never executed) and handler runs that violate single-primary execution (must be 0).
//   npm run bench:haproxy               10 trials per fault, session timeout 2000 ms
//   npm run bench:haproxy -- --quick    2 trials per fault
//   options: --trials=N --timeout=MS
import { startZooKeeper, type ZkCluster } from '../integration/harness';
import { findHaproxy } from '../integration/support/haproxy';
import { checkRuns, HaproxyTestbed, type HaproxyFault, type HaproxyTrial } from '../integration/support/haproxy-testbed';
import { positiveInt as opt, quick } from './lib/args';
import { updateDocSection } from './lib/docs';
import { machine, writeResult } from './lib/results';
import { round1, summarize } from './lib/stats';
import { formatTable, markdownTable } from './lib/table';

const TRIALS = opt('trials', quick ? 2 : 10);
const SESSION_MS = opt('timeout', 2000);
const FAULTS: readonly HaproxyFault[] = ['sigkill', 'sigstop'];

const HEADERS = ['fault', 'client', 'p50 ms', 'p99 ms', 'max ms', 'extra p50 ms', 'calls', 'failed', 'NOT_PRIMARY via HAProxy'];

async function main(): Promise<void> {
  findHaproxy();
  let cluster: ZkCluster | undefined;
  let bed: HaproxyTestbed | undefined;
  const trials: HaproxyTrial[] = [];
  let violations: string[] = [];
  try {
    cluster = await startZooKeeper({ nodes: 1, tickTime: 100, minSessionTimeout: 200, maxSessionTimeout: 60000 });
    console.log(`ZooKeeper at ${cluster.connectString}`);
    bed = new HaproxyTestbed(cluster.connectString, `/bench-haproxy-${Date.now()}`, SESSION_MS);
    await bed.start();
    for (const fault of FAULTS) {
      for (let i = 0; i < TRIALS; i++) {
        const t = await bed.trial(fault);
        trials.push(t);
        console.log(`${fault} #${i + 1}: via HAProxy ${Math.round(t.haproxyMs)} ms, HaClient ${Math.round(t.haClientMs)} ms, elected ${Math.round(t.electedMs ?? NaN)} ms, NOT_PRIMARY via HAProxy ${t.notPrimaryViaHaproxy}`);
      }
    }
    violations = checkRuns(bed.runs());
  } finally {
    await bed?.stop();
    await cluster?.close();
  }
  const rows = FAULTS.flatMap((fault) => {
    const ts = trials.filter((t) => t.fault === fault);
    const via = summarize(ts.map((t) => t.haproxyMs));
    const direct = summarize(ts.map((t) => t.haClientMs));
    const sum = (f: (t: HaproxyTrial) => number): number => ts.reduce((n, t) => n + f(t), 0);
    // Paired per trial: how much later the client behind HAProxy got through than the HaClient.
    const extra = summarize(ts.map((t) => t.haproxyMs - t.haClientMs));
    return [
      { fault, client: 'plain ws via HAProxy', unavailableMs: { p50: round1(via.p50), p99: round1(via.p99), max: round1(via.max) }, extraP50Ms: round1(extra.p50), calls: sum((t) => t.callsViaHaproxy), failed: sum((t) => t.failedViaHaproxy), notPrimary: sum((t) => t.notPrimaryViaHaproxy), samplesMs: ts.map((t) => round1(t.haproxyMs)) },
      { fault, client: 'HaClient (direct)', unavailableMs: { p50: round1(direct.p50), p99: round1(direct.p99), max: round1(direct.max) }, extraP50Ms: null, calls: sum((t) => t.callsHaClient), failed: sum((t) => t.failedHaClient), notPrimary: null, samplesMs: ts.map((t) => round1(t.haClientMs)) },
    ];
  });
  const table = rows.map((r) => [r.fault, r.client, r.unavailableMs.p50, r.unavailableMs.p99, r.unavailableMs.max, r.extraP50Ms ?? '—', r.calls, r.failed, r.notPrimary ?? '—']);
  console.log(`\n${formatTable(HEADERS, table)}`);
  console.log(`\nhandler runs on a member that was not the primary, or overlapping epochs: ${violations.length}`);
  const result = {
    quick, measuredAt: new Date().toISOString(), machine: machine(), trialsPerFault: TRIALS, sessionTimeoutMs: SESSION_MS,
    haproxy: 'Debian haproxy 2.6, checks inter 1000 fastinter 100 downinter 100 rise 1 fall 2, observe layer4 error-limit 1 on-error mark-down, option redispatch 1, retries 2, timeout connect/check 500 ms',
    executionViolations: violations.length, rows,
  };
  console.log(`\nwrote ${writeResult('haproxy.json', result)}`);
  const m = result.machine;
  console.log(`wrote ${updateDocSection('haproxy', [
    '## Failover through HAProxy (`npm run bench:haproxy`)',
    '',
    `${TRIALS} trials per fault, session timeout ${SESSION_MS} ms, one ZooKeeper, three HaServer processes, HAProxy 2.6 kept in step by`,
    '`zk-ha haproxy`; a plain ws client (no ZooKeeper) calls through HAProxy while an HaClient calls directly, both under load on the',
    `same fault. Unavailability = fault → first call answered by the new primary; extra = the HAProxy client's minus the HaClient's, paired`,
    `per trial. "failed" counts attempts (the plain client retries every 10 ms). ${m.cores} cores (${m.cpus}), Node ${m.node}, shared with other work.`,
    '',
    markdownTable(HEADERS, table),
    '',
    `Handler runs on a member that was not the primary, or epochs overlapping in time: **${violations.length}**.`,
  ].join('\n'))}`);
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
