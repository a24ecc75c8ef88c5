/**
 * The short pass of the fault-injection suite (issue 7 §5): one trial of each representative fault
 * under steady load, judged by the split-brain and duplicate-execution checker. The full matrix,
 * N trials each, is `npm run chaos`.
 */
import { expect } from 'chai';
import { startZooKeeper, type ZkCluster } from './harness';
import { excerpt } from './chaos/report';
import { scenario, SHORT_PASS } from './chaos/scenarios';
import { runTrial } from './chaos/trial';

describe('chaos: short pass (1 trial per fault, real 3-node ensemble, servers as processes)', function () {
  this.timeout(120000);
  let zk: ZkCluster;
  before(async () => { zk = await startZooKeeper({ nodes: 3 }); });
  after(async () => { await zk?.close(); });

  for (const name of SHORT_PASS) {
    it(`${name}: no split brain, no duplicate execution, every acknowledged call ran once, the group heals`, async () => {
      const r = await runTrial(zk, scenario(name));
      expect(r.check.violations.map(excerpt), `checker findings in ${name}`).to.deep.equal([]);
      expect(r.rejoinMs, 'rejoin time').to.be.a('number');
      // The load really ran through the fault: calls were made before and after it under two epochs or more
      // where the fault forces a failover.
      expect(r.calls).to.be.greaterThan(100);
      const epochs = new Set(r.history.calls.filter((c) => c.outcome === 'ok').map((c) => c.epoch));
      expect(epochs.size, 'epochs seen by the clients').to.be.at.least(2);
    });
  }
});
