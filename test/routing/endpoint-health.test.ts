import { expect } from 'chai';
import { InvalidOptionError } from '../../lib/base/errors';
import type { HealthOptions } from '../../lib/routing';
import { EndpointHealth, HealthSet, seededRandom } from '../../lib/routing';

const base: HealthOptions = { baseEjectionMs: 1000, maxEjectionMs: 30_000, jitter: 0.2, random: seededRandom(1) };

function failTimes(h: EndpointHealth, n: number, nowMs: number): ReturnType<EndpointHealth['onFailure']>[] {
  return Array.from({ length: n }, () => h.onFailure(nowMs));
}

describe('routing/endpoint-health', () => {
  it('ejects after N consecutive failures, not before; a success resets the count', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 3, successRateThreshold: 0 });
    expect(failTimes(h, 2, 0)).to.deep.equal([undefined, undefined]);
    expect(h.onSuccess(0)).to.equal(undefined);
    expect(failTimes(h, 2, 1)).to.deep.equal([undefined, undefined]);
    const t = h.onFailure(2);
    expect(t).to.include({ from: 'healthy', to: 'ejected', reason: 'consecutive-failures' });
    expect(t!.ejectedForMs).to.be.within(800, 1000);
    expect(h.state(2)).to.equal('ejected');
    expect(h.serving).to.equal(false);
    expect(h.ejections).to.equal(1);
  });

  it('turns probing when the ejection time has passed; one probe at a time; a success re-admits', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 1, jitter: 0, probeTimeoutMs: 5000 });
    h.onFailure(0); // ejected for exactly 1000 ms
    expect(h.state(999)).to.equal('ejected');
    expect(h.tryAcquireProbe(999)).to.equal(false);
    expect(h.state(1000)).to.equal('probing');
    expect(h.tryAcquireProbe(1000)).to.equal(true);
    expect(h.tryAcquireProbe(1001)).to.equal(false); // the single slot is taken
    expect(h.serving).to.equal(false);
    expect(h.onSuccess(1200)).to.deep.equal({ from: 'probing', to: 'healthy', reason: 'probe-succeeded' });
    expect(h.state(1200)).to.equal('healthy');
    expect(h.tryAcquireProbe(1200)).to.equal(false);
  });

  it('a probe slot frees itself after probeTimeoutMs, or at once with releaseProbe()', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 1, jitter: 0, probeTimeoutMs: 5000 });
    h.onFailure(0);
    expect(h.tryAcquireProbe(1000)).to.equal(true);
    expect(h.tryAcquireProbe(5999)).to.equal(false);
    expect(h.tryAcquireProbe(6000)).to.equal(true);
    h.releaseProbe();
    expect(h.tryAcquireProbe(6001)).to.equal(true);
  });

  it('a failed probe ejects again for longer: durations double, are jittered, and stop at the cap', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 1, jitter: 0.2, random: seededRandom(77) });
    let now = 0;
    const durations: number[] = [];
    let t = h.onFailure(now);
    for (let i = 0; i < 9; i++) {
      durations.push(t!.ejectedForMs!);
      now += t!.ejectedForMs!;
      expect(h.state(now)).to.equal('probing');
      expect(h.tryAcquireProbe(now)).to.equal(true);
      t = h.onFailure(now);
      expect(t).to.include({ from: 'probing', to: 'ejected', reason: 'probe-failed' });
    }
    durations.forEach((d, k) => {
      const ceiling = Math.min(30_000, 1000 * 2 ** k);
      expect(d, `ejection ${k + 1}`).to.be.within(ceiling * 0.8, ceiling);
    });
    for (let k = 1; k < 5; k++) expect(durations[k]).to.be.greaterThan(durations[k - 1]); // strictly growing below the cap
    expect(new Set(durations.slice(5)).size).to.be.greaterThan(1); // still jittered at the cap
    expect(h.ejections).to.equal(10);
  });

  it('the ejection count resets after a stable period of health, so the next ejection is short again', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 1, jitter: 0, stablePeriodMs: 10_000 });
    h.onFailure(0); // 1000
    h.onFailure(1000); // probe fails: 2000
    expect(h.onSuccess(3000)).to.include({ to: 'healthy' });
    expect(h.ejections).to.equal(2);
    h.onSuccess(12_999);
    expect(h.ejections).to.equal(2);
    h.onSuccess(13_000);
    expect(h.ejections).to.equal(0);
    expect(h.onFailure(13_001)!.ejectedForMs).to.equal(1000);
    expect(h.totalEjections).to.equal(3);
  });

  it('ejects on a low success rate over the window once enough calls were seen', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 100, successRateMinRequests: 20, successRateThreshold: 0.5, windowMs: 10_000 });
    let t;
    // Alternate 2 failures, 1 success: 33% success, never 100 in a row.
    for (let i = 0; i < 19 && !t; i++) t = i % 3 === 2 ? h.onSuccess(i) : h.onFailure(i);
    expect(t).to.equal(undefined); // 19 calls: below the minimum
    t = h.onFailure(19);
    expect(t).to.include({ from: 'healthy', to: 'ejected', reason: 'success-rate' });
  });

  it('the success-rate window slides: old failures stop counting', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 100, successRateMinRequests: 10, windowMs: 10_000 });
    for (let i = 0; i < 4; i++) h.onFailure(0);
    h.onSuccess(0);
    // 20 s later the 4 old failures are out of the window: 6 successes + 4 new failures = 60%.
    for (let i = 0; i < 6; i++) h.onSuccess(20_000);
    const results = failTimes(h, 4, 20_000);
    expect(results.every((r) => r === undefined)).to.equal(true);
    expect(h.state(20_000)).to.equal('healthy');
  });

  it('outcomes of calls that were in flight when the endpoint was ejected are ignored', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 1, jitter: 0 });
    h.onFailure(0);
    expect(h.onSuccess(10)).to.equal(undefined);
    expect(h.onFailure(10)).to.equal(undefined);
    expect(h.state(10)).to.equal('ejected');
    expect(h.ejections).to.equal(1);
  });

  it('markDown ejects at once until markUp; markUp leads to probing, not healthy', () => {
    const h = new EndpointHealth(base);
    expect(h.markDown(5, 'heartbeat timeout')).to.deep.equal({ from: 'healthy', to: 'ejected', reason: 'heartbeat timeout' });
    expect(h.downBecause).to.equal('heartbeat timeout');
    expect(h.markDown(6, 'again')).to.equal(undefined);
    expect(h.state(1e9)).to.equal('ejected'); // no timer ends a dead connection
    expect(h.tryAcquireProbe(1e9)).to.equal(false);
    expect(h.markUp(100)).to.deep.equal({ from: 'ejected', to: 'probing', reason: 'reconnected' });
    expect(h.markUp(101)).to.equal(undefined);
    expect(h.state(100)).to.equal('probing');
    expect(h.tryAcquireProbe(100)).to.equal(true);
    expect(h.onSuccess(110)).to.include({ from: 'probing', to: 'healthy' });
    expect(h.ejections).to.equal(0); // a dead connection is not an outlier ejection
  });

  it('a reconnect does not cut a running outlier ejection short', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 1, jitter: 0 });
    h.onFailure(0); // ejected until 1000
    expect(h.markDown(100, 'closed')).to.equal(undefined); // already out of rotation
    expect(h.markUp(200)).to.equal(undefined); // still inside the ejection
    expect(h.state(200)).to.equal('ejected');
    expect(h.state(1000)).to.equal('probing');
  });

  it('markDown while probing releases the probe slot', () => {
    const h = new EndpointHealth({ ...base, consecutiveFailures: 1, jitter: 0 });
    h.onFailure(0);
    expect(h.tryAcquireProbe(1000)).to.equal(true);
    expect(h.markDown(1001, 'closed')).to.include({ from: 'probing', to: 'ejected' });
    h.markUp(1002);
    expect(h.tryAcquireProbe(1002)).to.equal(true);
  });

  it('validates every option with InvalidOptionError naming it', () => {
    const bad: [HealthOptions, RegExp][] = [
      [{ consecutiveFailures: 0 }, /consecutiveFailures/],
      [{ consecutiveFailures: 1.5 }, /consecutiveFailures/],
      [{ successRateMinRequests: -1 }, /successRateMinRequests/],
      [{ successRateThreshold: 1.1 }, /successRateThreshold/],
      [{ windowMs: 0 }, /windowMs/],
      [{ baseEjectionMs: Number.NaN }, /baseEjectionMs/],
      [{ baseEjectionMs: 5000, maxEjectionMs: 1000 }, /maxEjectionMs/],
      [{ jitter: 1 }, /jitter/],
      [{ maxEjectedPercent: 101 }, /maxEjectedPercent/],
      [{ probeTimeoutMs: -5 }, /probeTimeoutMs/],
      [{ stablePeriodMs: Number.POSITIVE_INFINITY }, /stablePeriodMs/],
      [{ random: 3 as unknown as () => number }, /random/],
    ];
    for (const [opts, re] of bad) expect(() => new EndpointHealth(opts), JSON.stringify(opts)).to.throw(InvalidOptionError, re);
    expect(() => new HealthSet({ jitter: -1 })).to.throw(InvalidOptionError, /jitter/);
  });

  it('a misbehaving random source cannot produce a negative or NaN ejection time', () => {
    for (const r of [Number.NaN, -5, 7]) {
      const h = new EndpointHealth({ ...base, consecutiveFailures: 1, random: () => r });
      const t = h.onFailure(0)!;
      expect(t.ejectedForMs).to.be.within(800, 1000);
    }
  });
});

describe('routing/health-set', () => {
  const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `m-${i}`);

  function setOf(n: number, opts: HealthOptions = {}): HealthSet {
    const s = new HealthSet({ ...base, consecutiveFailures: 1, jitter: 0, ...opts });
    for (const id of ids(n)) s.add(id);
    return s;
  }

  it('never ejects more than maxEjectedPercent of the endpoints (default 50%)', () => {
    const s = setOf(4);
    expect(s.onFailure('m-0', 0)).to.include({ id: 'm-0', to: 'ejected' });
    expect(s.onFailure('m-1', 0)).to.include({ id: 'm-1', to: 'ejected' });
    expect(s.onFailure('m-2', 0)).to.equal(undefined); // 3 of 4 would be 75%
    expect(s.state('m-2', 0)).to.equal('healthy');
    expect(s.suppressedEjections).to.equal(1);
    expect(s.outOfRotation()).to.equal(2);
  });

  it('a single endpoint is never ejected for failing calls; markDown still takes it out', () => {
    const s = setOf(1);
    for (let i = 0; i < 10; i++) expect(s.onFailure('m-0', i)).to.equal(undefined);
    expect(s.state('m-0', 10)).to.equal('healthy');
    expect(s.markDown('m-0', 11, 'socket closed')).to.include({ to: 'ejected' });
  });

  it('endpoints marked down count towards the limit but are never held back by it', () => {
    const s = setOf(4);
    s.markDown('m-0', 0, 'closed');
    s.markDown('m-1', 0, 'closed');
    expect(s.markDown('m-2', 0, 'closed')).to.include({ to: 'ejected' }); // a fact, not a judgement
    expect(s.onFailure('m-3', 0)).to.equal(undefined); // would leave nothing
    expect(s.outOfRotation()).to.equal(3);
  });

  it('probing endpoints still count as out of rotation; recovery frees room for another ejection', () => {
    const s = setOf(2); // allows 1
    s.onFailure('m-0', 0); // until 1000
    expect(s.state('m-0', 1000)).to.equal('probing');
    expect(s.onFailure('m-1', 1000)).to.equal(undefined);
    expect(s.acquireProbe(1000)).to.equal('m-0');
    expect(s.acquireProbe(1000)).to.equal(undefined);
    expect(s.onSuccess('m-0', 1010)).to.include({ id: 'm-0', from: 'probing', to: 'healthy' });
    expect(s.onFailure('m-1', 1020)).to.include({ id: 'm-1', to: 'ejected' });
  });

  it('maxEjectedPercent 100 allows all, 0 allows none', () => {
    const all = setOf(3, { maxEjectedPercent: 100 });
    for (const id of ids(3)) expect(all.onFailure(id, 0)).to.include({ to: 'ejected' });
    const none = setOf(3, { maxEjectedPercent: 0 });
    for (const id of ids(3)) expect(none.onFailure(id, 0)).to.equal(undefined);
  });

  it('filterServing keeps healthy and untracked endpoints; nextProbeAt gives the earliest expiry', () => {
    const s = setOf(4);
    s.onFailure('m-1', 0); // until 1000
    s.onFailure('m-2', 500); // until 1500
    const eps = [...ids(4), 'm-new'].map((id) => ({ id }));
    expect(s.filterServing(eps).map((e) => e.id)).to.deep.equal(['m-0', 'm-3', 'm-new']);
    expect(s.nextProbeAt(600)).to.equal(1000);
    s.markDown('m-1', 600, 'closed');
    expect(s.nextProbeAt(600)).to.equal(1500); // a down endpoint waits for markUp, not a timer
    // An ejection already over is no timer: its endpoint is probing (a past time re-armed a 2 ms timer for ever).
    expect(s.nextProbeAt(1500)).to.equal(undefined);
  });

  it('acquireProbe never claims the slot of an endpoint the caller avoids (it would stay held, unused)', () => {
    const s = setOf(4);
    s.onFailure('m-1', 0); // until 1000
    expect(s.acquireProbe(1000, new Set(['m-1']))).to.equal(undefined);
    expect(s.acquireProbe(1000)).to.equal('m-1');
  });

  it('retain() forgets departed members; remove() one', () => {
    const s = setOf(3);
    s.retain(['m-0', 'm-2']);
    expect([...s.ids()]).to.deep.equal(['m-0', 'm-2']);
    expect(s.remove('m-0')).to.equal(true);
    expect(s.size).to.equal(1);
    expect(() => s.add('')).to.throw(InvalidOptionError);
  });
});
