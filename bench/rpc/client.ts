// Child process: a benchmark client for one transport. The parent sends points to run over IPC
// ({ payload, concurrency, warmMs, measureMs }); each answer is a PointResult. A fresh
// connection is opened for every point.
import { build } from 'hdr-histogram-js';
import { performance } from 'node:perf_hooks';
import { payload, PayloadName } from './payloads';
import { startClient, TransportName } from './transports';

export interface PointResult {
  transport: TransportName;
  payload: PayloadName;
  concurrency: number;
  callsPerSec: number;
  p50us: number;
  p99us: number;
  /** CPU time of this client process over the measured window, in % of one core. */
  clientCpuPct: number;
  /** Its user-space part (JavaScript, V8, libuv; not the kernel's syscalls and wake-ups), in % of one core. */
  clientUserPct: number;
}

export interface PointRequest {
  payload: PayloadName;
  concurrency: number;
  warmMs: number;
  measureMs: number;
}

/** CPU % of one core used by this process since `from` (process.cpuUsage) over `wallMs`. */
export function cpuPct(from: NodeJS.CpuUsage, wallMs: number): { total: number; user: number } {
  const d = process.cpuUsage(from);
  const pct = (us: number): number => Math.round((us / 1000 / wallMs) * 1000) / 10;
  return { total: pct(d.user + d.system), user: pct(d.user) };
}

async function runPoint(transport: TransportName, port: number, req: PointRequest): Promise<PointResult> {
  const client = await startClient(transport, port);
  const msg = payload(req.payload);
  const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let recording = false;
  let stop = false;
  let calls = 0;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const t0 = performance.now();
      await client.call(msg);
      if (recording) {
        hist.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        calls++;
      }
    }
  };
  const workers = Array.from({ length: req.concurrency }, worker);
  await new Promise((r) => setTimeout(r, req.warmMs));
  recording = true;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, req.measureMs));
  recording = false;
  const wallMs = performance.now() - start;
  const cpu = cpuPct(cpu0, wallMs);
  stop = true;
  await Promise.all(workers);
  await client.close();
  return {
    transport,
    payload: req.payload,
    concurrency: req.concurrency,
    callsPerSec: Math.round(calls / (wallMs / 1000)),
    p50us: hist.getValueAtPercentile(50),
    p99us: hist.getValueAtPercentile(99),
    clientCpuPct: cpu.total,
    clientUserPct: cpu.user,
  };
}

const [transport, portText] = process.argv.slice(2) as [TransportName, string];
process.on('message', (req: PointRequest) => {
  void runPoint(transport, Number(portText), req).then((result) => process.send?.({ result }));
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
