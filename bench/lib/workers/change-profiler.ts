/**
 * BENCH_CHANGE_PROF=<dir>: a V8 CPU profile of a bench:scale watcher process over the change phase
 * only (from 'mark' to 'report'), without the start-up (module loading, every view's first read)
 * that node's --cpu-prof would include. One <dir>/changes-<pid>.cpuprofile per process.
 * BENCH_HEAP_PROF=1 as well: a sampling heap profile of what the phase allocates instead
 * (<dir>/changes-<pid>.heapprofile, allocations by function, for Chrome DevTools).
 */
import * as fs from 'node:fs';
import { Session as Inspector } from 'node:inspector';
import * as path from 'node:path';

const dir = process.env.BENCH_CHANGE_PROF;
const heap = process.env.BENCH_HEAP_PROF === '1';
const inspector = dir ? new Inspector() : undefined;
inspector?.connect();

function post(method: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    inspector!.post(method, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** Starts profiling (resolves at once without BENCH_CHANGE_PROF). */
export async function startChangeProfile(): Promise<void> {
  if (!inspector) return;
  if (heap) {
    // Every allocation still live or not at stop: the allocation volume, which is what costs GC time.
    await post('HeapProfiler.enable');
    await new Promise<void>((resolve, reject) => {
      inspector.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (e) => (e ? reject(e) : resolve()));
    });
    return;
  }
  await post('Profiler.enable');
  await post('Profiler.start');
}

/** Stops profiling and writes the profile (does nothing without BENCH_CHANGE_PROF). */
export async function stopChangeProfile(): Promise<void> {
  if (!inspector || !dir) return;
  const { profile } = (await post(heap ? 'HeapProfiler.stopSampling' : 'Profiler.stop')) as { profile: unknown };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `changes-${process.pid}.${heap ? 'heapprofile' : 'cpuprofile'}`), JSON.stringify(profile));
}
