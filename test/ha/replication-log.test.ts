import { expect } from 'chai';
import { RpcError } from '../../lib/transport';
import { commitIndex, laggards, requiredMembers } from '../../lib/ha/replication/commit-rule';
import { ReplicatedLog } from '../../lib/ha/replication/replicated-log';
import { Replica, toWire } from '../../lib/ha/replication/replica';
import type { ReplicatedState } from '../../lib/ha/replication/replica';
import { pack } from 'msgpackr';

class Ids implements ReplicatedState<string, string[]> {
  ids: string[] = [];
  apply(op: string): number { this.ids.push(op); return this.ids.length; }
  snapshot(): string[] { return this.ids.slice(); }
  restore(s: string[]): void { this.ids = s.slice(); }
}

function replica(key = 'b@1', retain = 100): { r: Replica; s: Ids; faults: string[] } {
  const s = new Ids();
  const faults: string[] = [];
  const r = new Replica(key, s, { retainEntries: retain, maxSnapshotBytes: 1 << 20 }, (k) => faults.push(k));
  return { r, s, faults };
}

describe('replicated log', () => {
  it('keeps the tail a backup being caught up still needs, within maxHeld; releases it after', () => {
    const log = new ReplicatedLog(2, 50);
    const backup = {};
    for (let i = 0; i < 5; i++) log.append(1, i);
    log.applyUpTo(5, () => undefined);
    log.hold(backup, 4); // a snapshot at index 3 is on its way: the backup continues from 4
    for (let i = 0; i < 20; i++) log.append(1, i);
    log.applyUpTo(25, () => undefined);
    expect(log.firstIndex, 'held entries survive compaction').to.be.at.most(4);
    expect(log.slice(4, 100)!.map((e) => e.index)[0]).to.equal(4);
    for (let i = 0; i < 100; i++) log.append(1, i);
    log.applyUpTo(125, () => undefined);
    expect(log.length, 'a hold never keeps more than maxHeld applied entries').to.be.at.most(51);
    log.hold(backup, undefined);
    for (let i = 0; i < 10; i++) log.append(1, i);
    log.applyUpTo(135, () => undefined);
    expect(log.length, 'released: back to retain').to.be.at.most(3);
  });

  it('assigns consecutive indexes, applies in order, keeps a bounded applied tail', () => {
    const log = new ReplicatedLog(2);
    for (let i = 0; i < 6; i++) expect(log.append(7, `op${i}`).index).to.equal(i + 1);
    const applied: number[] = [];
    log.applyUpTo(5, (e) => applied.push(e.index));
    expect(applied).to.deep.equal([1, 2, 3, 4, 5]);
    expect(log.appliedIndex).to.equal(5);
    expect(log.firstIndex).to.equal(4); // 1..3 dropped: only 2 applied entries kept
    expect(log.slice(1, 10)).to.equal(undefined); // dropped: a snapshot is needed
    expect(log.slice(4, 10)!.map((e) => e.op)).to.deep.equal(['op3', 'op4', 'op5']);
    expect(log.pending).to.equal(1);
  });

  it('a backup skips entries it holds and refuses a gap', () => {
    const log = new ReplicatedLog(10);
    expect(log.accept([{ index: 1, epoch: 1, op: 'a' }, { index: 2, epoch: 1, op: 'b' }])).to.equal(2);
    expect(log.accept([{ index: 2, epoch: 1, op: 'b' }, { index: 3, epoch: 1, op: 'c' }])).to.equal(3);
    expect(log.accept([{ index: 5, epoch: 1, op: 'e' }])).to.equal(undefined);
    expect(log.lastIndex).to.equal(3);
  });

  it('drops only what is not applied, and restarts from a snapshot index', () => {
    const log = new ReplicatedLog(10);
    log.accept([1, 2, 3, 4].map((i) => ({ index: i, epoch: 1, op: i })));
    log.applyUpTo(2, () => undefined);
    expect(log.truncateUnapplied()).to.equal(2);
    expect(log.lastIndex).to.equal(2);
    log.resetTo(40);
    expect([log.firstIndex, log.lastIndex, log.appliedIndex]).to.deep.equal([41, 40, 40]);
    expect(log.append(3, 'x').index).to.equal(41);
  });

  it('memory stays bounded over many ops', () => {
    const log = new ReplicatedLog(100);
    for (let i = 0; i < 50_000; i++) {
      log.append(1, i);
      log.applyUpTo(log.lastIndex, () => undefined);
    }
    expect(log.length).to.be.at.most(100 + 1024);
  });
});

describe('commit rule', () => {
  it('requires every in-sync backup and every joining one, never ourselves', () => {
    expect(requiredMembers(['a@1', 'b@1', 'p@1'], new Set(['c@1']), 'p@1')).to.deep.equal(['a@1', 'b@1', 'c@1']);
  });
  it('commits the highest index all required hold; unknown backups hold nothing', () => {
    const match = new Map([['a', 5], ['b', 3]]);
    expect(commitIndex(['a', 'b'], match, 9)).to.equal(3);
    expect(commitIndex([], match, 9)).to.equal(9);
    expect(commitIndex(['a', 'c'], match, 9)).to.equal(-1);
    expect(laggards(['a', 'b', 'c'], match, 4)).to.deep.equal(['b', 'c']);
  });
});

describe('replica (backup side)', () => {
  it('appends, applies up to the commit index, answers its match', () => {
    const { r, s } = replica();
    const res = r.onAppend({ epoch: 3, entries: toWire([{ index: 1, epoch: 3, op: 'a' }, { index: 2, epoch: 3, op: 'b' }]), commit: 1 });
    expect(res).to.deep.equal({ key: 'b@1', match: 2 });
    expect(s.ids).to.deep.equal(['a']);
    r.onAppend({ epoch: 3, entries: [], commit: 2 });
    expect(s.ids).to.deep.equal(['a', 'b']);
  });

  it('refuses ops from an older epoch (FENCED) and leaves its state alone', () => {
    const { r, s, faults } = replica();
    r.onAppend({ epoch: 5, entries: [[1, 5, 'a']], commit: 1 });
    let error: unknown;
    try {
      r.onAppend({ epoch: 4, entries: [[2, 4, 'forged']], commit: 2 });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(RpcError);
    expect((error as RpcError).code).to.equal('FENCED');
    expect(s.ids).to.deep.equal(['a']);
    expect(faults).to.include('stale-epoch');
  });

  it('on a newer epoch drops what it had not applied: the new primary resends its own', () => {
    const { r, s } = replica();
    r.onAppend({ epoch: 1, entries: [[1, 1, 'a'], [2, 1, 'uncommitted']], commit: 1 });
    const res = r.onAppend({ epoch: 2, entries: [[2, 2, 'b']], commit: 2 });
    expect(res.match).to.equal(2);
    expect(s.ids).to.deep.equal(['a', 'b']);
  });

  it('reports a gap instead of accepting it', () => {
    const { r } = replica();
    expect(r.onAppend({ epoch: 1, entries: [[3, 1, 'c']], commit: 0 })).to.deep.equal({ key: 'b@1', match: 0, gap: true });
  });

  it('assembles a chunked snapshot, restores it, then takes the tail', () => {
    const { r, s } = replica();
    const bytes = pack(['x', 'y', 'z']);
    const half = Math.floor(bytes.length / 2);
    expect(r.onSnapshot({ epoch: 2, id: 't', index: 30, total: bytes.length, offset: 0, chunk: bytes.subarray(0, half) }).received).to.equal(half);
    // A chunk out of order is not taken: the sender resumes from `received`.
    expect(r.onSnapshot({ epoch: 2, id: 't', index: 30, total: bytes.length, offset: half + 1, chunk: bytes.subarray(half + 1) }).received).to.equal(half);
    const done = r.onSnapshot({ epoch: 2, id: 't', index: 30, total: bytes.length, offset: half, chunk: bytes.subarray(half) });
    expect(done.match).to.equal(30);
    expect(s.ids).to.deep.equal(['x', 'y', 'z']);
    r.onAppend({ epoch: 2, entries: [[31, 2, 'w']], commit: 31 });
    expect(s.ids).to.deep.equal(['x', 'y', 'z', 'w']);
  });

  it('refuses a snapshot over its limit and malformed params', () => {
    const { r } = replica();
    expect(() => r.onSnapshot({ epoch: 1, id: 't', index: 1, total: 2 << 20, offset: 0, chunk: Buffer.alloc(1) })).to.throw(RpcError);
    expect(() => r.onAppend({ epoch: 'x' })).to.throw(RpcError);
    expect(() => r.onAppend({ epoch: 1, entries: [['a']], commit: 0 })).to.throw(RpcError);
  });

  it('a throwing apply is reported and counts as applied (every member applies the same ops)', () => {
    const faults: string[] = [];
    const r = new Replica('k', { apply: () => { throw new Error('boom'); }, snapshot: () => null, restore: () => undefined },
      { retainEntries: 10, maxSnapshotBytes: 1000 }, (k) => faults.push(k));
    r.onAppend({ epoch: 1, entries: [[1, 1, 'a']], commit: 1 });
    expect(r.log.appliedIndex).to.equal(1);
    expect(faults).to.deep.equal(['apply-error']);
  });
});
