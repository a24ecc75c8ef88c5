// Child process: an RpcServer under attack. Reports over IPC what an attack cost it: the longest
// event-loop stall, RSS, faults by code and the log lines its fault reporter wrote.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FaultReporter, transportFaultKind } from '../../lib/ops/fault-reporter';
import { RpcServer, RpcServerOptions } from '../../lib/transport';

const options = JSON.parse(process.argv[2] ?? '{}') as RpcServerOptions;
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const faults: Record<string, number> = {};
let logLines = 0;
let longestLine = 0;
let cpu = process.cpuUsage();
const write = (obj: object): void => {
  logLines++;
  longestLine = Math.max(longestLine, JSON.stringify(obj).length);
};
const reporter = new FaultReporter({ service: 'bench', logger: { info: write, warn: write, error: write } });
const big = Buffer.alloc(1024 * 1024, 7);
const server = new RpcServer({
  ...options,
  handlers: {
    // walks its params, as many handlers do: a DAG would expand here
    walk: (p) => JSON.stringify(p).length,
    ok: () => 'ok',
    big: async () => { await new Promise((r) => setTimeout(r, 1)); return big; },
    hang: () => new Promise(() => undefined),
  },
  onFault: (f) => {
    faults[f.code] = (faults[f.code] ?? 0) + 1;
    reporter.report(transportFaultKind(f.code, 'server') ?? 'transport', { detail: { ...f } });
  },
});

void server.listen().then(({ port }) => process.send?.({ port }));
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'sample') {
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    process.send?.({
      sample: {
        rss: process.memoryUsage().rss, maxStallMs: loop.max / 1e6, cpuMs: (used.user + used.system) / 1000, faults: { ...faults }, logLines, longestLine,
        connections: server.connections, inFlight: server.inFlight, buffered: server.bufferedBytes,
      },
    });
    loop.reset();
  }
  if (m.cmd === 'flush') {
    reporter.flushSummaries();
    process.send?.({ flushed: true });
  }
});
process.on('disconnect', () => process.exit(0));
