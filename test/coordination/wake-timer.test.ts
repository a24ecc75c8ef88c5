import { expect } from 'chai';
import { monotonicMs } from '../../lib/base/clock';
import { WakeTimer } from '../../lib/coordination/wake-timer';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('coordination/wake-timer', () => {
  it('the earliest request wins; a later one while it is pending is dropped', async () => {
    const fired: boolean[] = [];
    const wake = new WakeTimer((takeover) => fired.push(takeover));
    wake.request(monotonicMs() + 5, true);
    wake.request(monotonicMs() + 1000);
    await tick(40);
    expect(fired).to.deep.equal([true]);
    wake.clear();
  });

  it('an earlier request replaces a pending one, and with it the takeover mark', async () => {
    const fired: boolean[] = [];
    const wake = new WakeTimer((takeover) => fired.push(takeover));
    wake.request(monotonicMs() + 1000, true);
    wake.request(monotonicMs() + 5);
    await tick(40);
    expect(fired).to.deep.equal([false]);
    wake.request(monotonicMs() + 5, true); // free again after firing
    await tick(40);
    expect(fired).to.deep.equal([false, true]);
  });

  it('clear() cancels the pending wake', async () => {
    const fired: boolean[] = [];
    const wake = new WakeTimer((takeover) => fired.push(takeover));
    wake.request(monotonicMs() + 5, true);
    wake.clear();
    await tick(40);
    expect(fired).to.deep.equal([]);
  });
});
