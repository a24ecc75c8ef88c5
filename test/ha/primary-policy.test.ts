import { expect } from 'chai';
import { monotonicMs } from '../../lib/base/clock';
import { EpochFence } from '../../lib/ha/epoch-fence';
import { PrimaryPolicy } from '../../lib/ha/primary-policy';
import { SUCCESSOR_HINT } from '../../lib/ha/call-admission';
import { RpcError } from '../../lib/transport';
import { resolveBackoffOptions } from '../../lib/base/backoff';
import type { FakeReport, FakeTarget } from './fake-pool';
import { context, FakePool, lostAfterSend, notPrimary, rejected, snapshot } from './fake-pool';

function setup(): { pool: FakePool; policy: PrimaryPolicy<FakeTarget>; reports: FakeReport[]; s1: FakeTarget; s2: FakeTarget; s3: FakeTarget } {
  const pool = new FakePool();
  const reports: FakeReport[] = [];
  const policy = new PrimaryPolicy(context(pool, reports), new EpochFence());
  const s1 = pool.add('s1', 3).servesAsPrimary();
  const s2 = pool.add('s2', 5).servesAsPrimary();
  const s3 = pool.add('s3', 8).servesAsPrimary();
  return { pool, policy, reports, s1, s2, s3 };
}

const within = (ms: number): number => monotonicMs() + ms;

describe('ha/primary-policy (fake pool)', () => {
  it('routes to the primary the view acknowledges, not to the lowest member', async () => {
    const { pool, policy, s2, s1, s3 } = setup();
    policy.observe(snapshot([s1, s2, s3], { primary: s2, generation: 'g' }));
    const r = await policy.call('m', {}, {}, within(1000));
    expect(r).to.include({ member: 's2', epoch: 5, attempts: 1 });
    expect(pool.log.map((l) => l.member)).to.deep.equal([s2.name]);
  });

  it('with no primary, waits for one up to the deadline', async () => {
    const { pool, policy, s1, s2 } = setup();
    policy.observe(snapshot([s1, s2], { primary: null, generation: 'g' }));
    const p = policy.call('m', {}, {}, within(5000));
    await new Promise((r) => setTimeout(r, 30));
    expect(pool.log).to.have.length(0);
    policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
    pool.changed();
    expect(await p).to.include({ member: 's1', epoch: 3 });
  });

  it('with no primary until the deadline: DEADLINE_EXCEEDED, not executed', async () => {
    const { policy, s1 } = setup();
    policy.observe(snapshot([s1], { primary: null, generation: 'g' }));
    const e = await rejected(policy.call('m', {}, {}, within(40)));
    expect(e.code).to.equal('DEADLINE_EXCEEDED');
    expect(e.notExecuted).to.equal(true);
  });

  it('waits while the primary is not connected; a member that refused us for good fails at once', async () => {
    const { pool, policy, s1 } = setup();
    policy.observe(snapshot([s1], { primary: s1, generation: 'g' }));
    s1.up = false;
    const p = policy.call('m', {}, {}, within(5000));
    await new Promise((r) => setTimeout(r, 20));
    s1.up = true;
    pool.changed();
    expect((await p).member).to.equal('s1');
    s1.up = false;
    s1.refused = new RpcError('UNAUTHENTICATED', 'bad token');
    expect((await rejected(policy.call('m', {}, {}, within(5000)))).code).to.equal('UNAUTHENTICATED');
  });

  it('follows a NOT_PRIMARY hint straight to the member it names', async () => {
    const { pool, policy, s1, s2 } = setup();
    policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
    s1.script.push({ error: notPrimary(s2) });
    const r = await policy.call('m', {}, {}, within(1000));
    expect(r).to.include({ member: 's2', attempts: 2 });
    expect(pool.log.map((l) => l.member)).to.deep.equal([s1.name, s2.name]);
  });

  it('a hint that fails (the member named is silent, overloaded, fenced) ends for later calls too: they go to the view\'s primary', async () => {
    const { pool, policy, s1, s2 } = setup();
    policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
    s1.script.push({ error: notPrimary(s2) });
    s2.script.push({ error: new RpcError('DEADLINE_EXCEEDED', 'no answer', { notExecuted: false }), afterMs: 5 });
    expect((await rejected(policy.call('m', {}, {}, within(1000)))).code).to.equal('DEADLINE_EXCEEDED');
    for (let i = 0; i < 5; i++) expect(await policy.call('m', {}, {}, within(1000))).to.include({ member: 's1', attempts: 1 });
    expect(pool.log.map((l) => l.member)).to.deep.equal([s1.name, s2.name, s1.name, s1.name, s1.name, s1.name, s1.name]);
  });

  it('a hint is forgotten when the view names another primary', async () => {
    const { pool, policy, s1, s2, s3 } = setup();
    policy.observe(snapshot([s1, s2, s3], { primary: s1, generation: 'g' }));
    s1.script.push({ error: notPrimary(s2) });
    expect(await policy.call('m', {}, {}, within(1000))).to.include({ member: 's2' });
    policy.observe(snapshot([s1, s2, s3], { primary: s3, generation: 'g' }));
    expect(await policy.call('m', {}, {}, within(1000))).to.include({ member: 's3', attempts: 1 });
    expect(pool.log.map((l) => l.member)).to.deep.equal([s1.name, s2.name, s3.name]);
  });

  it('a successor hint (a handover) is followed by an idempotent call only; a call that may not be repeated waits for the view', async () => {
    const successorHint = (t: { url: string }): RpcError => new RpcError('NOT_PRIMARY', 'resigned', { leaderHint: t.url, data: SUCCESSOR_HINT });
    {
      const { pool, policy, s1, s2 } = setup();
      policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
      s1.script.push({ error: successorHint(s2) });
      expect(await policy.call('m', {}, { idempotent: true }, within(1000))).to.include({ member: 's2', attempts: 2 });
      expect(pool.log.map((l) => l.member)).to.deep.equal([s1.name, s2.name]);
    }
    const { pool, policy, s1, s2 } = setup();
    policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
    s1.otherwise = { error: successorHint(s2) };
    const p = policy.call('m', {}, {}, within(5000));
    await new Promise((r) => setTimeout(r, 20));
    // Not sent to the successor while the view still names s1 (a frozen successor would leave it "outcome unknown").
    expect(pool.log.map((l) => l.member)).to.not.include(s2.name);
    policy.observe(snapshot([s1, s2], { primary: s2, generation: 'g' }));
    pool.changed();
    expect(await p).to.include({ member: 's2', epoch: 5 });
  });

  it('NOT_PRIMARY without a hint waits for the view, then goes to the new primary', async () => {
    const { pool, policy, s1, s2 } = setup();
    policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
    s1.otherwise = { error: notPrimary() };
    const p = policy.call('m', {}, {}, within(5000));
    await new Promise((r) => setTimeout(r, 20));
    policy.observe(snapshot([s1, s2], { primary: s2, generation: 'g' }));
    pool.changed();
    expect(await p).to.include({ member: 's2', epoch: 5 });
  });

  it('a new primary in the view restarts the backoff: a call that waited through a failover retries it at once, not after a grown pause', async () => {
    const pool = new FakePool();
    // No jitter: the pauses are 10, 20, 40, 80, 160, 320, 640, 1280 ms...
    const ctx = { ...context(pool), backoff: resolveBackoffOptions({ initialMs: 10, maxMs: 60_000, jitter: 'none' }) };
    const policy = new PrimaryPolicy(ctx, new EpochFence());
    const s1 = pool.add('s1', 3);
    const s2 = pool.add('s2', 5).servesAsPrimary();
    policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
    s1.otherwise = { error: notPrimary() };
    // The new primary refuses once: its view names it before it has read its own takeover's answer.
    s2.script.push({ error: notPrimary() });
    const p = policy.call('m', {}, {}, within(2000));
    while (pool.log.length < 6) await new Promise((r) => setTimeout(r, 2)); // ~310 ms: s1 refused 6 times
    policy.observe(snapshot([s1, s2], { primary: s2, generation: 'g' }));
    pool.changed();
    // s2 serves for 300 ms only. With the restart it is retried 10 ms after its refusal; without,
    // 1280 ms later — by then it refuses again and the call runs into its deadline.
    setTimeout(() => { s2.otherwise = { error: notPrimary() }; }, 300);
    expect(await p).to.include({ member: 's2', epoch: 5 });
  });

  it('a non-idempotent call whose outcome is unknown is not retried', async () => {
    const { pool, policy, s1 } = setup();
    policy.observe(snapshot([s1], { primary: s1, generation: 'g' }));
    s1.script.push({ error: lostAfterSend() });
    const e = await rejected(policy.call('m', {}, {}, within(1000)));
    expect(e.code).to.equal('UNAVAILABLE');
    expect(e.notExecuted).to.equal(false);
    expect(pool.log).to.have.length(1);
  });

  it('reports a failover once, when the new verified primary answers; a poisoned epoch silences nothing', async () => {
    const { pool, policy, reports, s1, s2 } = setup();
    policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
    await policy.call('m', {}, {}, within(1000));
    s1.script.push({ epoch: 2 ** 52 });
    await policy.call('m', {}, {}, within(1000));
    s1.otherwise = { error: notPrimary() };
    const p = policy.call('m', {}, {}, within(5000));
    await new Promise((r) => setTimeout(r, 20));
    policy.observe(snapshot([s2], { primary: s2, generation: 'g' }));
    pool.changed();
    expect((await p).epoch).to.equal(5);
    await policy.call('m', {}, {}, within(1000));
    const failovers = reports.filter((r) => r.kind === 'failover');
    expect(failovers).to.have.length(1);
    expect(failovers[0]!.detail).to.deep.equal({ fromEpoch: 3, toEpoch: 5 });
    expect(failovers[0]!.durationMs).to.be.a('number');
  });

  describe('fencing', () => {
    it('an answer below the verified epoch is FENCED (reported); a non-idempotent call is not retried', async () => {
      const { policy, reports, s1, s2 } = setup();
      policy.observe(snapshot([s2], { primary: s2, generation: 'g' }));
      s2.script.push({ epoch: 3, result: 'stale' });
      const e = await rejected(policy.call('m', {}, {}, within(1000)));
      expect(e.code).to.equal('FENCED');
      expect(e.notExecuted).to.equal(false);
      expect(reports.map((r) => r.kind)).to.include('stale-epoch');
      expect(s1.attempts).to.equal(0);
    });

    it('an idempotent call fenced once goes again and gets the current epoch', async () => {
      const { policy, s2 } = setup();
      policy.observe(snapshot([s2], { primary: s2, generation: 'g' }));
      s2.script.push({ epoch: 3 });
      const r = await policy.call('m', {}, { idempotent: true }, within(1000));
      expect(r).to.include({ epoch: 5, attempts: 2 });
    });

    it('a response with epoch 2^52 does not fence out the real primary', async () => {
      const { policy, s1, s2 } = setup();
      policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
      s1.script.push({ epoch: 2 ** 52, result: 'poison' });
      expect((await policy.call('m', {}, {}, within(1000))).epoch).to.equal(2 ** 52);
      expect(policy.fence.epoch).to.equal(3);
      for (let i = 0; i < 3; i++) expect((await policy.call('m', {}, {}, within(1000))).epoch).to.equal(3);
    });

    it('a temporarily unreadable primary record does not raise the fence: the primary is served again after', async () => {
      const { pool, policy, s1, s2 } = setup();
      policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
      expect((await policy.call('m', {}, {}, within(1000))).epoch).to.equal(3);
      // s1's record does not parse: the view drops it; s2 is listed but not acknowledged.
      policy.observe(snapshot([s2], { primary: null, generation: 'g' }));
      const during = policy.call('m', {}, {}, within(5000));
      await new Promise((r) => setTimeout(r, 20));
      expect(policy.fence.epoch).to.equal(3);
      policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
      pool.changed();
      expect((await during).epoch).to.equal(3);
      for (let i = 0; i < 3; i++) expect((await policy.call('m', {}, {}, within(1000))).epoch).to.equal(3);
    });

    it('after a generation change (ZooKeeper lost its data) answers are accepted again', async () => {
      const { pool, policy, s3 } = setup();
      policy.observe(snapshot([s3], { primary: s3, generation: 'g1' }));
      expect((await policy.call('m', {}, {}, within(1000))).epoch).to.equal(8);
      // The service node was recreated: sequences restart.
      const fresh = pool.add('s1-again', 0).servesAsPrimary();
      const change = policy.observe(snapshot([fresh], { primary: fresh, generation: 'g2' }));
      expect(change).to.include({ from: 'g1', to: 'g2', fenceBefore: 8, fenceAfter: 0 });
      expect((await policy.call('m', {}, {}, within(1000))).epoch).to.equal(0);
    });
  });

  describe('truthful outcomes', () => {
    it('an idempotent call that may have run on an earlier attempt is never reported not executed', async () => {
      const { pool, policy, s1, s2 } = setup();
      policy.observe(snapshot([s1, s2], { primary: s1, generation: 'g' }));
      s1.script.push({ error: lostAfterSend() });
      s1.otherwise = { error: notPrimary() }; // then the view moves on to s2, which is not serving yet
      const p = rejected(policy.call('m', {}, { idempotent: true }, within(150)));
      await new Promise((r) => setTimeout(r, 10));
      policy.observe(snapshot([s1, s2], { primary: s2, generation: 'g' }));
      s2.otherwise = { error: notPrimary() };
      pool.changed();
      const e = await p;
      expect(e.code).to.equal('DEADLINE_EXCEEDED');
      expect(e.notExecuted).to.equal(false);
      expect(s1.attempts).to.be.at.least(1);
      expect(s2.attempts).to.be.greaterThan(0);
    });

    it('a call whose every attempt was refused before running is reported not executed', async () => {
      const { policy, s1 } = setup();
      policy.observe(snapshot([s1], { primary: s1, generation: 'g' }));
      s1.otherwise = { error: notPrimary() };
      const e = await rejected(policy.call('m', {}, { idempotent: true }, within(60)));
      expect(e.code).to.equal('DEADLINE_EXCEEDED');
      expect(e.notExecuted).to.equal(true);
    });

    it('a terminal error that says "not executed" after an earlier attempt may have run says executed', async () => {
      const { policy, s1 } = setup();
      policy.observe(snapshot([s1], { primary: s1, generation: 'g' }));
      s1.script.push({ error: lostAfterSend() }, { error: new RpcError('METHOD_NOT_FOUND', 'gone') });
      const e = await rejected(policy.call('m', {}, { idempotent: true }, within(1000)));
      expect(e.code).to.equal('METHOD_NOT_FOUND');
      expect(e.notExecuted).to.equal(false);
    });

    it('cancelled while waiting after an attempt that may have run: CANCELLED, not "not executed"', async () => {
      const { policy, s1 } = setup();
      policy.observe(snapshot([s1], { primary: s1, generation: 'g' }));
      s1.script.push({ error: lostAfterSend() });
      s1.otherwise = { error: notPrimary() };
      const ac = new AbortController();
      const p = rejected(policy.call('m', {}, { idempotent: true, signal: ac.signal }, within(5000)));
      await new Promise((r) => setTimeout(r, 20));
      ac.abort();
      const e = await p;
      expect(e.code).to.equal('CANCELLED');
      expect(e.notExecuted).to.equal(false);
    });
  });
});
