import { expect } from 'chai';
import { StandbyLease } from '../../lib/coordination/standby-lease';
import type { MultiOp, MultiResult, ZkSession } from '../../lib/zk';
import { ZkError } from '../../lib/zk';

/**
 * Enough of a ZkSession for the standby's check-only writes: each multi waits until the test
 * answers it, so that the order of answers and of the release marker's notification (freeze()) is
 * the test's to choose (the real thing: integration/leadership-standby.test.ts).
 */
class ManualSession {
  readonly sent: { ops: readonly MultiOp[]; answer: (error?: ZkError) => void }[] = [];

  multi(ops: readonly MultiOp[]): Promise<MultiResult[]> {
    return new Promise((resolve, reject) => {
      this.sent.push({ ops, answer: (error) => (error ? reject(error) : resolve([])) });
    });
  }
}

const LEASE = 300;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function started(): Promise<{ session: ManualSession; standby: StandbyLease }> {
  const session = new ManualSession();
  const standby = new StandbyLease(session as unknown as ZkSession, '/svc/members/m-0000000002', LEASE);
  standby.start();
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { session, standby };
}

describe('coordination: StandbyLease (the second in line\'s standby lease)', () => {
  it('sends a check-only write of its member node and holds until that write\'s send time + lease once answered', async () => {
    const { session, standby } = await started();
    expect(session.sent).to.have.length(1);
    expect(session.sent[0]!.ops).to.deep.equal([{ op: 'check', path: '/svc/members/m-0000000002', version: -1 }]);
    expect(standby.validUntil, 'nothing counts before an answer').to.equal(Number.NEGATIVE_INFINITY);
    const before = performance.now();
    session.sent[0]!.answer();
    await tick();
    expect(standby.validUntil).to.be.within(before - 10 + LEASE, before + LEASE);
    expect(standby.renewals).to.equal(1);
    standby.stop();
  });

  it('an answer that arrives after freeze() (the release marker\'s notification came first) extends nothing', async () => {
    const { session, standby } = await started();
    session.sent[0]!.answer();
    await tick();
    const held = standby.validUntil;
    // Next write in flight, then the marker is notified, then that write's answer comes.
    await new Promise((resolve) => setTimeout(resolve, LEASE / 3 + 20));
    expect(session.sent).to.have.length(2);
    standby.freeze();
    session.sent[1]!.answer();
    await tick();
    expect(standby.validUntil, 'frozen at the notification').to.equal(held);
    expect(standby.isFrozen).to.equal(true);
    standby.start();
    await new Promise((resolve) => setTimeout(resolve, LEASE / 2));
    expect(session.sent, 'a frozen standby is spent: no more writes').to.have.length(2);
  });

  it('a lost answer counts nothing; the member node gone stops it', async () => {
    const { session, standby } = await started();
    session.sent[0]!.answer(new ZkError('CONNECTION_LOSS', 'lost'));
    await tick();
    expect(standby.validUntil).to.equal(Number.NEGATIVE_INFINITY);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(session.sent, 'tried again soon').to.have.length(2);
    session.sent[1]!.answer(new ZkError('NO_NODE', 'gone'));
    await tick();
    await new Promise((resolve) => setTimeout(resolve, LEASE / 2));
    expect(session.sent, 'stopped').to.have.length(2);
    expect(standby.validUntil).to.equal(Number.NEGATIVE_INFINITY);
  });
});
