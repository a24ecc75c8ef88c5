import { expect } from 'chai';
import { CoordinationError, MembershipView } from '../../lib/coordination';
import { ZkSession } from '../../lib/zk';

describe('coordination/MembershipView stop() before the first snapshot (no ZooKeeper)', () => {
  it('fails a start() or ready() still waiting with CLOSED instead of leaving it pending for ever', async () => {
    // Nothing listens on port 1: the view never gets a snapshot.
    const session = new ZkSession({ connect: '127.0.0.1:1', sessionTimeoutMs: 4000 });
    const view = new MembershipView(session, 'svc');
    view.on('error', () => undefined);
    const started = view.start();
    const ready = view.ready();
    view.stop();
    for (const p of [started, ready]) {
      const outcome = await Promise.race([p.then(() => 'resolved', (e: unknown) => e), new Promise((r) => setTimeout(() => r('pending'), 1000))]);
      expect(outcome).to.be.instanceOf(CoordinationError);
      expect(outcome).to.include({ code: 'CLOSED' });
    }
    await session.close();
  });
});
