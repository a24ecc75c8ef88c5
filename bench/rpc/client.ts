// Child process: runs every (payload, concurrency) point against one server; reports over IPC.
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
}

async function runPoint(transport: TransportName, port: number, name: PayloadName, concurrency: number, warmMs: number, measureMs: number): Promise<PointResult> {
  const client = await startClient(transport, port);
  const msg = payload(name);
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
  const workers = Array.from({ length: concurrency }, worker);
  await new Promise((r) => setTimeout(r, warmMs));
  recording = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, measureMs));
  recording = false;
  const secs = (performance.now() - start) / 1000;
  stop = true;
  await Promise.all(workers);
  await client.close();
  return {
    transport,
    payload: name,
    concurrency,
    callsPerSec: Math.round(calls / secs),
    p50us: hist.getValueAtPercentile(50),
    p99us: hist.getValueAtPercentile(99),
  };
}

void (async () => {
  const [transport, portText, warmText, measureText] = process.argv.slice(2) as [TransportName, string, string, string];
  const results: PointResult[] = [];
  for (const name of ['small', 'large'] as const) {
    for (const c of [1, 16, 128]) {
      results.push(await runPoint(transport, Number(portText), name, c, Number(warmText), Number(measureText)));
    }
  }
  process.send?.({ results });
  process.disconnect?.();
})();
