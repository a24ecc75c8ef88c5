import { expect } from 'chai';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { Picker, RoutedEndpoint } from '../../lib/routing';
import { BALANCER_NAMES, createBalancer, recordLatency, seededRandom } from '../../lib/routing';
import { endpoints } from './helpers';

/**
 * Allocation check without timing: after a full GC, run 1e6 picks and require that (a) no GC
 * ran during the loop and (b) the heap grew by less than 1 MB. Anything that allocates even 16
 * bytes per pick produces 16 MB of garbage: it either stays on the heap (fails b) or triggers a
 * scavenge (fails a). `gc` is exposed in-process through V8's flag, so no child process is needed.
 */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const PICKS = 1_000_000;
const KEYS = Array.from({ length: 1024 }, (_, i) => `key-${i}`);

interface Measurement {
  heapGrowth: number;
  gcsDuringLoop: number;
}

async function measure(run: () => number): Promise<Measurement> {
  run(); // warm up: let the JIT settle before measuring
  const gcTimes: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcTimes.push(e.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const start = performance.now();
  const before = process.memoryUsage().heapUsed;
  const sink = run();
  const after = process.memoryUsage().heapUsed;
  const end = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  expect(sink).to.be.greaterThan(0);
  return { heapGrowth: after - before, gcsDuringLoop: gcTimes.filter((t) => t >= start && t <= end).length };
}

function loop(picker: Picker, picks = PICKS): () => number {
  return () => {
    let hits = 0;
    for (let i = 0; i < picks; i++) if (picker.pick(KEYS[i & 1023]) !== undefined) hits++;
    return hits;
  };
}

describe('routing/pick allocation', function () {
  this.timeout(60_000);

  it('the method detects an allocating picker (control)', async () => {
    const eps = endpoints(3);
    const box: unknown[] = [undefined];
    const allocating: Picker = {
      size: 3,
      pick(key?: string): RoutedEndpoint | undefined {
        box[0] = { key, at: box.length }; // escapes: cannot be optimised away
        return eps[0];
      },
    };
    const m = await measure(loop(allocating));
    expect(m.gcsDuringLoop > 0 || m.heapGrowth > 1_000_000, JSON.stringify(m)).to.equal(true);
  });

  it('p2c with the default source (Math.random) allocates nothing', async () => {
    const eps = endpoints(100);
    eps.forEach((ep, i) => recordLatency(ep, 500 + i, Date.now()));
    const m = await measure(loop(createBalancer('p2c').build(eps)));
    expect(m.gcsDuringLoop, JSON.stringify(m)).to.equal(0);
    expect(m.heapGrowth, JSON.stringify(m)).to.be.lessThan(1_000_000);
  });

  for (const name of BALANCER_NAMES) {
    for (const n of [3, 1000]) {
      it(`${name} (n=${n}): 1e6 picks allocate nothing`, async () => {
        const eps = endpoints(n, Array.from({ length: n }, (_, i) => 1 + (i % 7)));
        eps.forEach((ep, i) => {
          ep.outstanding = i % 5;
          recordLatency(ep, 500 + i, i); // distinct stamps: p2c's latency decay is exercised
        });
        const picker = createBalancer(name, { random: seededRandom(n) }).build(eps);
        // least-outstanding scans all n: 1e5 picks at n = 1000 still expose 16 B/pick (1.6 MB).
        const picks = name === 'least-outstanding' && n > 100 ? PICKS / 10 : PICKS;
        const m = await measure(loop(picker, picks));
        expect(m.gcsDuringLoop, JSON.stringify(m)).to.equal(0);
        expect(m.heapGrowth, JSON.stringify(m)).to.be.lessThan(Math.max(picks, 400_000));
      });
    }
  }
});
