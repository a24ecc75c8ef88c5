/**
 * `npm run demo [-- --mode redundant] [-- --quick]`: the whole of zk-ha on one screen. Starts a
 * local 3-node ZooKeeper ensemble, three example servers as child processes and a busy client,
 * then injects faults one after another and measures what the client saw. Exits 0 when green.
 */
import { randomBytes } from 'crypto';
import { HaClient } from '../lib';
import type { FaultReport } from '../lib';
import { startZooKeeper, type ZkCluster } from '../integration/harness';
import { CallLoad, type FaultWindow, type LoopSpec } from './demo/call-load';
import { parseDemoOptions } from './demo/options';
import { PRIMARY_BACKUP_STEPS, REDUNDANT_STEPS, type DemoContext } from './demo/scenarios';
import { Screen } from './demo/screen';
import { ServerProcess } from './demo/server-process';
import { COUNTER_RULE, GREEN_RULE, judge, judgeCounter, summaryTable, writeSummaryChart } from './demo/summary';
import { ZkModes } from './demo/zk-modes';

const LOOPS_PER_METHOD = 3;

async function main(): Promise<number> {
  const opts = parseDemoOptions(process.argv.slice(2));
  const pb = opts.mode === 'primary-backup';
  const service = pb ? 'counter' : 'hasher';
  const steps = pb ? PRIMARY_BACKUP_STEPS : REDUNDANT_STEPS;
  const loops: LoopSpec[] = pb
    ? [{ method: 'incr', idempotent: false, params: () => ({ by: 1 }), track: true }, { method: 'get', idempotent: true, params: () => undefined }]
    : [{ method: 'hash', idempotent: true, params: (n) => ({ text: `text ${n}` }) }, { method: 'echo', idempotent: false, params: (n) => ({ n }) }];

  let zk: ZkCluster | undefined;
  let zkModes: ZkModes | undefined;
  let client: HaClient | undefined;
  let load: CallLoad | undefined;
  let phase = 'starting ZooKeeper';
  let finalCounter: number | undefined;
  const servers: ServerProcess[] = [];
  const windows: FaultWindow[] = [];
  const reports: FaultReport[] = [];
  const results: string[] = [];
  const ejected = new Set<string>();
  const screen = new Screen(opts.tty, () => ({
    title: `zk-ha demo: ${pb ? 'primary/backup' : 'redundant'} service "${service}", 3 servers, 3-node ZooKeeper, session timeout ${opts.sessionTimeoutMs} ms`,
    phase, zk, zkModes, servers, load, results, ejected,
    primary: pb && client ? { id: client.primary?.record.id, epoch: client.epoch } : undefined,
  }));
  // Two minutes with the defaults; more for longer session timeouts or waits.
  const timeLimitMs = Math.round(115_000 * Math.max(1, opts.scale) + 8 * Math.max(0, opts.sessionTimeoutMs - 2000));
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms * opts.scale));
  const redraw = setInterval(() => screen.tick(), 250);
  const watchdog = setTimeout(() => {
    screen.event(`time limit of ${timeLimitMs / 1000} s reached: stopping (the harness kills every child process)`);
    process.exit(1);
  }, timeLimitMs);

  try {
    screen.event(`starting a 3-node ZooKeeper ensemble on 127.0.0.1`);
    zk = await startZooKeeper({ nodes: 3, backend: 'local', log: (line) => screen.event(`zookeeper: ${line}`) });
    zkModes = new ZkModes(zk);
    zkModes.start();

    phase = 'starting servers';
    const script = pb ? 'pb-server.ts' : 'redundant-server.ts';
    const replSecret = randomBytes(24).toString('base64'); // shared by this run's servers only
    screen.event(`starting 3 servers: examples/${script}`);
    for (let i = 1; i <= 3; i++) {
      servers.push(new ServerProcess(pb ? `s${i}` : `r${i}`, script, {
        ZK_CONNECT: zk.connectString, SERVICE: service, SESSION_TIMEOUT_MS: String(opts.sessionTimeoutMs), WEIGHT: String(i), REPL_SECRET: replSecret,
      }, (line) => screen.event(line)));
    }
    await Promise.all(servers.map((s) => s.start()));

    client = new HaClient({
      zk: { connect: zk.connectString, sessionTimeoutMs: 2 * opts.sessionTimeoutMs },
      service,
      balancer: 'weighted-round-robin', // redundant: calls per member follow the weights 1:2:3
      deadlineMs: 4 * opts.sessionTimeoutMs + 5000, // a call waits out a failover instead of failing
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 20, maxMs: 250 } },
      health: { baseEjectionMs: 1000 },
      // Redundant: an idempotent call not answered in 100 ms is also sent to a second member (a frozen one stalls nothing).
      hedge: pb ? undefined : { delaysMs: [100] },
    });
    client.on('fault', (f) => {
      reports.push(f);
      if (f.member !== undefined && f.kind === 'endpoint-ejected') ejected.add(f.member);
      if (f.member !== undefined && (f.kind === 'endpoint-recovered' || f.kind === 'member-left' || f.kind === 'member-joined')) ejected.delete(f.member);
      if (f.kind === 'rejected-input' && (f.detail.code === 'CONNECT_FAILED' || f.detail.code === 'HEARTBEAT_TIMEOUT')) return; // the endpoint-down line says it
      const duration = f.durationMs === undefined ? '' : ` after ${Math.round(f.durationMs)} ms`;
      const detail = f.kind === 'failover' ? ` epoch ${String(f.detail.fromEpoch)} -> ${String(f.detail.toEpoch)}` : '';
      screen.event(`client fault report: ${f.kind}${f.member === undefined ? '' : ` ${f.member}`}${detail}${duration}`);
    });
    await client.start();
    load = new CallLoad(client, loops.flatMap((l) => Array.from({ length: LOOPS_PER_METHOD }, () => l)), 4);
    load.start();
    phase = 'steady load';
    screen.event(`client: ${LOOPS_PER_METHOD} loops each of ${loops.map((l) => `${l.method} (${l.idempotent ? 'idempotent' : 'not idempotent'})`).join(' and ')}`);
    await wait(5000);

    const ctx: DemoContext = {
      zk, servers, client, load, reports, sessionTimeoutMs: opts.sessionTimeoutMs, wait,
      event: (line) => screen.event(line),
      until: async (what, check, timeoutMs = 20000) => {
        const end = performance.now() + timeoutMs;
        while (!check()) {
          if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
    };
    for (const [i, step] of steps.entries()) {
      phase = `fault ${i + 1}/${steps.length}: ${step.name}`;
      load.openWindow(step.name, step.hard);
      await step.run(ctx);
      const w = load.closeWindow()!;
      windows.push(w);
      screen.event(`    => ${step.name}: unavailable ${Math.round(w.maxGapMs)} ms, ${w.failed.length} failed of ${w.calls} calls`
        + `${w.failed.length > 0 ? ` (${w.failed.map((f) => `${f.method} ${f.code}${f.notExecuted ? '' : ' outcome unknown'}`).join(', ')})` : ''}`);
      results.splice(0, results.length, ...summaryTable(windows, pb));
    }
    phase = 'done';
    await wait(1000);
  } catch (error) {
    screen.event(`demo aborted: ${error instanceof Error ? error.message : String(error)}`);
    phase = 'aborted';
  } finally {
    await load?.stop();
    if (pb && client) {
      // The replicated counter after every fault: read once the load has stopped.
      finalCounter = await client.call<{ value: number }>('get', undefined, { idempotent: true }).then((r) => r.value, () => undefined);
    }
    const finalScreenState = { calls: load?.calls ?? 0, ok: load?.ok ?? 0 };
    clearInterval(redraw);
    screen.detach();
    await client?.close().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
    zkModes?.stop();
    await zk?.close();
    clearTimeout(watchdog);
    screen.event(`everything stopped (${finalScreenState.ok} of ${finalScreenState.calls} calls succeeded)`);
  }

  const verdict = judge(windows, load?.steadyFailures ?? [], LOOPS_PER_METHOD, (w) => w.ok > 0);
  if (windows.length < steps.length) verdict.problems.push(`only ${windows.length} of ${steps.length} faults ran`);
  if ((load?.staleAnswers ?? 0) > 0) verdict.problems.push(`${load?.staleAnswers} answers came from an older epoch than one already seen`);
  if (pb && load) verdict.problems.push(...judgeCounter(load.trackedValues, finalCounter, load.trackedSent));
  const green = verdict.problems.length === 0;
  const out = ['', `summary (${pb ? 'primary/backup' : 'redundant'}, session timeout ${opts.sessionTimeoutMs} ms, ${screen.elapsedS.toFixed(1)} s in all)`, '',
    ...summaryTable(windows, pb), '',
    ...(pb ? [`epochs that answered, in order: ${load?.epochs.join(' -> ') ?? '-'}; answers from an older epoch: ${load?.staleAnswers ?? 0}`, ''] : []),
    ...(pb ? [`replicated counter: ${load?.trackedValues.length ?? 0} increments acknowledged, ${load?.trackedSent ?? 0} sent, final value ${finalCounter ?? '-'}`, ''] : []),
    'unavailable ms = longest time without a successful call, from the last success before the fault;',
    ...(pb ? ['new primary ms = fault -> first call answered by the next primary; failover report ms = the client\'s "failover" FaultReport durationMs;'] : []),
    'outcome unknown = a non-idempotent call in flight to a process that was killed or frozen: it may or may not have run, so',
    'the client does not retry it (it fails with notExecuted=false); idempotent calls in that position are retried.',
    '', GREEN_RULE, ...(pb ? [COUNTER_RULE] : []), '',
    green ? 'GREEN' : `RED:\n  ${verdict.problems.join('\n  ')}`];
  if (windows.length > 0) {
    try {
      out.push('', `chart: ${writeSummaryChart(windows, pb, opts.sessionTimeoutMs, opts.chart)}`);
    } catch (error) {
      out.push('', `chart not written: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return green ? 0 : 1;
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
