import { expect } from 'chai';
import { orderedMembers } from '../../lib/coordination/member-order';
import type { Member } from '../../lib/coordination/member-record';

function member(sequence: number, weight = 1): Member {
  const name = `m-${String(sequence).padStart(10, '0')}`;
  return { name, path: `/s/members/${name}`, sequence, owner: '0', record: { id: name, url: 'ws://h:1', weight, pid: 1, host: 'h', startedAt: 0, version: '1' } };
}
const sorted = (m: Iterable<Member>): Member[] => [...m].sort((a, b) => a.sequence - b.sequence);

describe('orderedMembers', () => {
  it('appends a joiner, drops a leaver, picks up an updated record', () => {
    const [a, b, c] = [member(1), member(2), member(3)];
    const b2 = member(2, 5);
    const byName = new Map([a, b2, c, member(4)].map((m) => [m.name, m]));
    byName.delete(a.name);
    const d = byName.get(member(4).name)!;
    const out = orderedMembers([a, b, c], byName, [d], [a], [b2]);
    expect(out).to.deep.equal([b2, c, d]);
    expect(out[0]).to.equal(b2);
  });

  it('places a joiner with a lower sequence in line, and ignores one that left in the same round', () => {
    const [a, c, e] = [member(1), member(3), member(5)];
    const b = member(2);
    const gone = member(9);
    const byName = new Map([a, b, c, e].map((m) => [m.name, m]));
    expect(orderedMembers([a, c, e], byName, [gone, b], [gone], [])).to.deep.equal([a, b, c, e]);
  });

  it('tells apart members of two generations with the same sequence', () => {
    const old = member(3);
    const renamed = { ...member(3), name: 'm-other-0000000003' };
    const byName = new Map([[renamed.name, renamed]]);
    expect(orderedMembers([old], byName, [renamed], [old], [])).to.deep.equal([renamed]);
  });

  it('agrees with a full sort under random churn', () => {
    let seq = 0;
    const byName = new Map<string, Member>();
    let previous: Member[] = [];
    for (let round = 0; round < 500; round++) {
      const joined: Member[] = [];
      const left: Member[] = [];
      const updated: Member[] = [];
      for (let k = Math.floor(Math.random() * 3); k > 0; k--) {
        // mostly newer sequences, sometimes an older one (a listing after a reconnect)
        const m = member(Math.random() < 0.8 ? ++seq : Math.floor(Math.random() * seq) + 0.5);
        if (byName.has(m.name)) continue;
        byName.set(m.name, m);
        joined.push(m);
      }
      for (const [name, m] of [...byName]) {
        const r = Math.random();
        if (r < 0.05) {
          byName.delete(name);
          if (!joined.includes(m)) left.push(m);
        } else if (r < 0.1 && !joined.includes(m)) {
          const u = { ...m, owner: String(round) };
          byName.set(name, u);
          updated.push(u);
        }
      }
      previous = orderedMembers(previous, byName, joined, left, updated);
      expect(previous).to.deep.equal(sorted(byName.values()));
    }
  });

  it('falls back to a full sort when previous and joined do not account for every member', () => {
    const [a, b] = [member(1), member(2)];
    const byName = new Map([b, a].map((m) => [m.name, m]));
    expect(orderedMembers([], byName, [], [], [])).to.deep.equal([a, b]);
  });
});
