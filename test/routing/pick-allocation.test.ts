import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { BALANCER_NAMES } from '../../lib/routing';

/**
 * pick() allocates nothing — checked without timing. In a fresh `node --expose-gc` process
 * (fixtures/alloc-probe.ts), after a full GC, each picker makes 1e6 picks; we require that no GC
 * ran during the loop and that the heap grew by less than 4 bytes per pick (what remains is JIT
 * code and feedback). Allocating even 16 bytes per pick makes 16 MB of garbage, which either
 * stays on the heap or triggers a scavenge.
 * A deliberately allocating picker checks that the method notices.
 */
interface Measurement {
  heapGrowth: number;
  gcsDuringLoop: number;
  picks: number;
}

function runProbe(): Promise<Record<string, Measurement>> {
  const probe = path.join(__dirname, 'fixtures', 'alloc-probe.ts');
  const args = ['--expose-gc', '-r', require.resolve('tsx/cjs'), probe];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`probe failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, Measurement>);
    });
  });
}

describe('routing/pick allocation', function () {
  this.timeout(150_000);
  let results: Record<string, Measurement>;

  before(async () => {
    results = await runProbe();
  });

  it('the method detects an allocating picker (control)', () => {
    const m = results.control;
    expect(m.gcsDuringLoop > 0 || m.heapGrowth > 1_000_000, JSON.stringify(m)).to.equal(true);
  });

  const cases = [...BALANCER_NAMES.flatMap((name) => [`${name}/3`, `${name}/1000`]), 'weighted-round-robin/live-heap'];
  for (const c of cases) {
    it(`${c}: picks allocate nothing`, () => {
      const m = results[c];
      expect(m, 'measured').to.not.equal(undefined);
      expect(m.gcsDuringLoop, JSON.stringify(m)).to.equal(0);
      expect(m.heapGrowth, JSON.stringify(m)).to.be.lessThan(Math.max(4 * m.picks, 400_000));
    });
  }
});
