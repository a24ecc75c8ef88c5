/**
 * The short pass of the replicated-state faults (issue 17): one trial each of a primary crash, a
 * paused backup and a backup restarted from empty, judged by the split-brain checker and the
 * durability checker (every acknowledged write in the new primary's state exactly once, nothing
 * never sent, no divergence). The full matrix, N trials each, is `npm run chaos`.
 */
import { expect } from 'chai';
import { startZooKeeper, type ZkCluster } from './harness';
import { excerpt } from './chaos/report';
import { scenario } from './chaos/scenarios';
import { runTrial } from './chaos/trial';

const SHORT_PASS = ['repl-primary-sigkill', 'repl-backup-sigstop', 'repl-backup-sigkill'];

describe('chaos, replicated state: short pass (1 trial per fault, real 3-node ensemble, servers as processes)', function () {
  this.timeout(180000);
  let zk: ZkCluster;
  before(async () => { zk = await startZooKeeper({ nodes: 3 }); });
  after(async () => { await zk?.close(); });

  for (const name of SHORT_PASS) {
    it(`${name}: no acknowledged write lost or applied twice, no divergence, the group heals`, async () => {
      const r = await runTrial(zk, scenario(name));
      expect(r.check.violations.map(excerpt), `checker findings in ${name}`).to.deep.equal([]);
      expect(r.history.states, 'member states were read').to.have.length.greaterThan(1);
      expect(r.rejoinMs, 'rejoin time').to.be.a('number');
      expect(r.calls).to.be.greaterThan(100);
    });
  }
});
