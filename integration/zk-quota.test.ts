/**
 * The "unknown server error code" defect end to end: ZooKeeper enforcing quotas answers
 * QUOTA_EXCEEDED (-125), a code node-zookeeper-client 1.1.3 does not know; its socket handler
 * throws and kills the process. lib/zk/client-fixes (applied whenever lib/zk loads) makes it an
 * ordinary error, which ZkSession types as QUOTA_EXCEEDED.
 */
import { expect } from 'chai';
import { quotaRoot, startQuotaZooKeeper, Worker, type ZkCluster } from './support';

describe('unknown server error codes (real ZooKeeper enforcing quotas)', function () {
  this.timeout(60000);
  let zk: ZkCluster;
  before(async () => { zk = await startQuotaZooKeeper(); });
  after(async () => { await zk?.close(); });

  it('ZkSession: QUOTA_EXCEEDED is a typed error and the process lives', async () => {
    const w = new Worker('quota-worker.ts', [zk.connectString, await quotaRoot(zk.connectString, 'quota'), 'session']);
    const result = await w.waitFor('result');
    expect(result.codes).to.deep.equal(['ok', 'QUOTA_EXCEEDED', 'QUOTA_EXCEEDED']);
    expect(await w.exit).to.equal(0);
  });

  it('the bare library as published: the throw from the socket handler kills the process', async () => {
    const w = new Worker('quota-worker.ts', [zk.connectString, await quotaRoot(zk.connectString, 'quota'), 'unfixed']);
    expect(await w.exit).to.not.equal(0);
    expect(w.stderr.join('\n')).to.contain('Unknown code: -125');
    expect(w.of('bare-result').map((e) => e.code)).to.deep.equal([0]);
  });

  it('the bare library after applyClientFixes(): the error reaches the callback as an Exception', async () => {
    const w = new Worker('quota-worker.ts', [zk.connectString, await quotaRoot(zk.connectString, 'quota'), 'fixed']);
    expect(await w.exit).to.equal(0);
    expect(w.of('fixes')[0]?.applied).to.include('unknown-error-codes');
    const results = w.of('bare-result');
    expect(results.map((e) => e.code)).to.deep.equal([0, -125, -125]);
    expect(results[1]).to.include({ name: 'QUOTA_EXCEEDED', isException: true });
  });
});
