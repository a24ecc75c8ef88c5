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
    for (let i = 0; i < 5; i++) log.append(1, i, 9);
    log.applyUpTo(5, () => undefined);
    log.hold(backup, 4); // a snapshot at index 3 is on its way: the backup continues from 4
    for (let i = 0; i < 20; i++) log.append(1, i, 9);
    log.applyUpTo(25, () => undefined);
    expect(log.firstIndex, 'held entries survive compaction').to.be.at.most(4);
    expect(log.slice(4, 100)!.map((e) => e.index)[0]).to.equal(4);
    for (let i = 0; i < 100; i++) log.append(1, i, 9);
    log.applyUpTo(125, () => undefined);
    expect(log.length, 'a hold never keeps more than maxHeld applied entries').to.be.at.most(51);
    log.hold(backup, undefined);
    for (let i = 0; i < 10; i++) log.append(1, i, 9);
    log.applyUpTo(135, () => undefined);
    expect(log.length, 'released: back to retain').to.be.at.most(3);
  });

  it('assigns consecutive indexes, applies in order, keeps a bounded applied tail', () => {
    const log = new ReplicatedLog(2);
    for (let i = 0; i < 6; i++) expect(log.append(7, `op${i}`, 9).index).to.equal(i + 1);
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
    expect(log.accept(0, 0, [{ index: 1, epoch: 1, op: 'a', reign: 9 }, { index: 2, epoch: 1, op: 'b', reign: 9 }])).to.equal(2);
    expect(log.accept(1, 9, [{ index: 2, epoch: 1, op: 'b', reign: 9 }, { index: 3, epoch: 1, op: 'c', reign: 9 }])).to.equal(3);
    expect(log.accept(4, 9, [{ index: 5, epoch: 1, op: 'e', reign: 9 }])).to.equal('gap');
    expect(log.accept(3, 9, [{ index: 5, epoch: 1, op: 'e', reign: 9 }]), 'entries must follow prev').to.equal('gap');
    expect(log.lastIndex).to.equal(3);
  });

  it('log matching: a batch is taken only after the very entry the primary names; another history is dropped if unapplied, refused if applied', () => {
    const log = new ReplicatedLog(10);
    log.accept(0, 0, [1, 2, 3, 4].map((i) => ({ index: i, epoch: 1, op: `a${i}`, reign: 5 })));
    log.applyUpTo(2, () => undefined);
    // Another primary (reign 7) wrote index 3 and 4 differently: our unapplied 3..4 go, its entries come.
    expect(log.accept(2, 5, [{ index: 3, epoch: 2, op: 'b3', reign: 7 }, { index: 4, epoch: 2, op: 'b4', reign: 7 }])).to.equal(4);
    expect(log.slice(3, 10)!.map((e) => e.op)).to.deep.equal(['b3', 'b4']);
    // Its prev names an entry we hold with another reign, unapplied: dropped from there, a gap.
    expect(log.accept(4, 8, [])).to.equal('gap');
    expect(log.lastIndex).to.equal(3);
    // An applied entry of another history: never overwritten, only a snapshot repairs it.
    expect(log.accept(2, 7, [{ index: 3, epoch: 3, op: 'c3', reign: 8 }])).to.equal('diverged');
    expect(log.accept(1, 5, [{ index: 2, epoch: 3, op: 'c2', reign: 8 }])).to.equal('diverged');
    expect(log.slice(1, 10)!.map((e) => e.op)).to.deep.equal(['a1', 'a2', 'b3']);
  });

  it('knows the reign of its base (a snapshot, or the last entry compaction dropped)', () => {
    const log = new ReplicatedLog(2);
    expect(log.reignAt(0)).to.equal(0);
    for (let i = 0; i < 3000; i++) log.append(1, i, i < 1500 ? 4 : 6);
    log.applyUpTo(3000, () => undefined);
    expect(log.firstIndex).to.be.above(1);
    expect(log.reignAt(log.firstIndex - 1)).to.equal(6);
    expect(log.reignAt(1)).to.equal(undefined);
    log.resetTo(40, 12);
    expect(log.reignAt(40)).to.equal(12);
    expect(log.accept(40, 11, [])).to.equal('diverged');
    expect(log.accept(40, 12, [{ index: 41, epoch: 2, op: 'x', reign: 12 }])).to.equal(41);
  });

  it('replaces only what is not applied, and restarts from a snapshot index', () => {
    const log = new ReplicatedLog(10);
    log.accept(0, 0, [1, 2, 3, 4].map((i) => ({ index: i, epoch: 1, op: i, reign: 9 })));
    log.applyUpTo(2, () => undefined);
    // A new primary's entry 3: 3 and 4 (unapplied, another reign) are replaced; the batch end is the match.
    expect(log.accept(2, 9, [{ index: 3, epoch: 2, op: 'x', reign: 8 }])).to.equal(3);
    expect(log.lastIndex).to.equal(3);
    // A batch that ends before our last entry proves only its own end.
    log.accept(3, 8, [{ index: 4, epoch: 2, op: 'y', reign: 8 }, { index: 5, epoch: 2, op: 'z', reign: 8 }]);
    expect(log.accept(3, 8, [{ index: 4, epoch: 2, op: 'y', reign: 8 }])).to.equal(4);
    log.resetTo(40, 9);
    expect([log.firstIndex, log.lastIndex, log.appliedIndex]).to.deep.equal([41, 40, 40]);
    expect(log.append(3, 'x', 9).index).to.equal(41);
  });

  it('memory stays bounded over many ops', () => {
    const log = new ReplicatedLog(100);
    for (let i = 0; i < 50_000; i++) {
      log.append(1, i, 9);
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
    const res = r.onAppend({ epoch: 3, entries: toWire([{ index: 1, epoch: 3, op: 'a', reign: 9 }, { index: 2, epoch: 3, op: 'b', reign: 9 }]), prevIndex: 0, prevReign: 0, commit: 1 });
    expect(res).to.deep.equal({ key: 'b@1', match: 2 });
    expect(s.ids).to.deep.equal(['a']);
    r.onAppend({ epoch: 3, entries: [], prevIndex: 2, prevReign: 9, commit: 2 });
    expect(s.ids).to.deep.equal(['a', 'b']);
  });

  it('refuses ops from an older epoch (FENCED) and leaves its state alone', () => {
    const { r, s, faults } = replica();
    r.onAppend({ epoch: 5, entries: [[1, 5, 'a', 9]], prevIndex: 0, prevReign: 0, commit: 1 });
    let error: unknown;
    try {
      r.onAppend({ epoch: 4, entries: [[2, 4, 'forged', 8]], prevIndex: 1, prevReign: 9, commit: 2 });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(RpcError);
    expect((error as RpcError).code).to.equal('FENCED');
    expect(s.ids).to.deep.equal(['a']);
    expect(faults).to.include('stale-epoch');
  });

  it('on a newer epoch keeps what it had not applied; the new primary\'s entries replace those of another reign', () => {
    const { r, s } = replica();
    r.onAppend({ epoch: 1, entries: [[1, 1, 'a', 9], [2, 1, 'uncommitted', 9], [3, 1, 'kept', 9]], prevIndex: 0, prevReign: 0, commit: 1 });
    // A new primary that holds 2 and 3 too (same reign): nothing is dropped, they are applied.
    const kept = r.onAppend({ epoch: 2, entries: [], prevIndex: 3, prevReign: 9, commit: 3 });
    expect(kept.match).to.equal(3);
    expect(s.ids).to.deep.equal(['a', 'uncommitted', 'kept']);
    const { r: r2, s: s2 } = replica();
    r2.onAppend({ epoch: 1, entries: [[1, 1, 'a', 9], [2, 1, 'uncommitted', 9], [3, 1, 'stale', 9]], prevIndex: 0, prevReign: 0, commit: 1 });
    // A new primary without them: its entry 2 replaces ours; our 3 is not applied although the commit says 3.
    const res = r2.onAppend({ epoch: 2, entries: [[2, 2, 'b', 8]], prevIndex: 1, prevReign: 9, commit: 3 });
    expect(res.match).to.equal(2);
    expect(s2.ids).to.deep.equal(['a', 'b']);
  });

  it('a backup that applied another history answers diverged (and reports it) instead of taking the batch', () => {
    const { r, s, faults } = replica();
    r.onAppend({ epoch: 1, entries: [[1, 1, 'a1', 5], [2, 1, 'a2', 5]], prevIndex: 0, prevReign: 0, commit: 2 });
    // A primary of another history (reign 7), which has index 1 from reign 5 but its own index 2.
    const res = r.onAppend({ epoch: 2, entries: [[2, 2, 'b2', 7]], prevIndex: 1, prevReign: 5, commit: 2 });
    expect(res).to.deep.equal({ key: 'b@1', match: 2, diverged: true });
    expect(s.ids).to.deep.equal(['a1', 'a2']);
    expect(faults).to.include('diverged');
    expect(r.status()).to.include({ appliedIndex: 2, appliedReign: 5, lastReign: 5 });
  });

  it('reports a gap instead of accepting it', () => {
    const { r } = replica();
    expect(r.onAppend({ epoch: 1, entries: [[3, 1, 'c', 9]], prevIndex: 2, prevReign: 9, commit: 0 })).to.deep.equal({ key: 'b@1', match: 0, gap: true });
  });

  it('assembles a chunked snapshot, restores it, then takes the tail', () => {
    const { r, s } = replica();
    const bytes = pack(['x', 'y', 'z']);
    const half = Math.floor(bytes.length / 2);
    expect(r.onSnapshot({ epoch: 2, id: 't', index: 30, reign: 9, total: bytes.length, offset: 0, chunk: bytes.subarray(0, half) }).received).to.equal(half);
    // A chunk out of order is not taken: the sender resumes from `received`.
    expect(r.onSnapshot({ epoch: 2, id: 't', index: 30, reign: 9, total: bytes.length, offset: half + 1, chunk: bytes.subarray(half + 1) }).received).to.equal(half);
    const done = r.onSnapshot({ epoch: 2, id: 't', index: 30, reign: 9, total: bytes.length, offset: half, chunk: bytes.subarray(half) });
    expect(done.match).to.equal(30);
    expect(s.ids).to.deep.equal(['x', 'y', 'z']);
    r.onAppend({ epoch: 2, entries: [[31, 2, 'w', 9]], prevIndex: 30, prevReign: 9, commit: 31 });
    expect(s.ids).to.deep.equal(['x', 'y', 'z', 'w']);
  });

  it('refuses a snapshot over its limit and malformed params', () => {
    const { r } = replica();
    expect(() => r.onSnapshot({ epoch: 1, id: 't', index: 1, reign: 9, total: 2 << 20, offset: 0, chunk: Buffer.alloc(1) })).to.throw(RpcError);
    expect(() => r.onAppend({ epoch: 'x' })).to.throw(RpcError);
    expect(() => r.onAppend({ epoch: 1, entries: [['a']], prevIndex: 0, prevReign: 0, commit: 0 })).to.throw(RpcError);
    expect(() => r.onAppend({ epoch: 1, entries: [[1, 1, 'a']], prevIndex: 0, prevReign: 0, commit: 0 }), 'an entry without its reign').to.throw(RpcError);
    expect(() => r.onAppend({ epoch: 1, entries: [], commit: 0 }), 'no prev').to.throw(RpcError);
  });

  it('a throwing apply is reported and counts as applied (every member applies the same ops)', () => {
    const faults: string[] = [];
    const r = new Replica('k', { apply: () => { throw new Error('boom'); }, snapshot: () => null, restore: () => undefined },
      { retainEntries: 10, maxSnapshotBytes: 1000 }, (k) => faults.push(k));
    r.onAppend({ epoch: 1, entries: [[1, 1, 'a', 9]], prevIndex: 0, prevReign: 0, commit: 1 });
    expect(r.log.appliedIndex).to.equal(1);
    expect(faults).to.deep.equal(['apply-error']);
  });
});
