import { expect } from 'chai';
import { EpochFence } from '../../lib/ha/epoch-fence';
import { FakePool, snapshot } from './fake-pool';

describe('ha/epoch-fence', () => {
  const pool = new FakePool();
  const s1 = pool.add('s1', 3);
  const s2 = pool.add('s2', 5);
  const s3 = pool.add('s3', 8);

  it('rises to the acknowledged primary of the view, and only rises', () => {
    const seen: number[] = [];
    const f = new EpochFence((e) => seen.push(e));
    f.observe(snapshot([s1, s2], { primary: s1, generation: 'g1' }));
    expect(f.epoch).to.equal(3);
    f.observe(snapshot([s2, s3], { primary: s2, generation: 'g1' }));
    expect(f.epoch).to.equal(5);
    f.observe(snapshot([s1, s2], { primary: s1, generation: 'g1' }));
    expect(f.epoch).to.equal(5);
    expect(seen).to.deep.equal([3, 5]);
  });

  it('a listed but unacknowledged member (the backup while the primary record is unreadable) does not raise it', () => {
    const f = new EpochFence();
    f.observe(snapshot([s1, s2], { primary: s1, generation: 'g1' }));
    f.observe(snapshot([s2], { primary: null, generation: 'g1' }));
    expect(f.epoch).to.equal(3);
    expect(f.admits(3)).to.equal(true);
  });

  it('a response from a higher epoch is admitted but does not raise it (2^52 poisons nothing)', () => {
    const f = new EpochFence();
    f.observe(snapshot([s1], { primary: s1, generation: 'g1' }));
    expect(f.admits(2 ** 52)).to.equal(true);
    expect(f.epoch).to.equal(3);
    expect(f.admits(3)).to.equal(true);
    expect(f.admits(2)).to.equal(false);
  });

  it('a new generation restarts it at the new primary, and says so; an unknown generation changes nothing', () => {
    const f = new EpochFence();
    expect(f.observe(snapshot([s3], { primary: s3, generation: 'g1' }))).to.equal(undefined);
    expect(f.observe(snapshot([], { primary: null, generation: '' }))).to.equal(undefined);
    expect(f.epoch).to.equal(8);
    const fresh = new FakePool().add('s1', 0);
    const change = f.observe(snapshot([fresh], { primary: fresh, generation: 'g2' }));
    expect(change).to.deep.equal({ from: 'g1', to: 'g2', fenceBefore: 8, fenceAfter: 0 });
    expect(f.generation).to.equal('g2');
    expect(f.admits(0)).to.equal(true);
  });
});
