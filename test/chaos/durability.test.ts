/** The durability checker of replicated state on hand-made end states. */
import { expect } from 'chai';
import { checkDurability } from '../../integration/chaos/durability';
import type { MemberState } from '../../integration/chaos/durability';
import type { ClientCall } from '../../integration/chaos/history';

const call = (callId: string, outcome: 'ok' | 'error'): ClientCall =>
  ({ client: 'c1', callId, idempotent: false, start: 0n, end: 1n, outcome });
const member = (server: string, ids: string[], extra: Partial<MemberState> = {}): MemberState =>
  ({ server, key: `${server}@1`, inSync: true, primary: false, ids, ...extra });

const calls = [call('a', 'ok'), call('b', 'ok'), call('c', 'error'), call('d', 'error')];
const kinds = (states: MemberState[]): string[] => checkDurability(calls, states).map((v) => v.kind);

describe('durability checker', () => {
  it('passes when every acknowledged id is on the primary once; unacknowledged ones may or may not be', () => {
    expect(kinds([member('s1', ['a', 'c', 'b'], { primary: true }), member('s2', ['a', 'c', 'b']), member('s3', ['a'], { inSync: false })])).to.deep.equal([]);
  });
  it('finds a lost acknowledged write', () => {
    expect(kinds([member('s1', ['a', 'c'], { primary: true })])).to.deep.equal(['lost-ack']);
  });
  it('finds an id applied twice and an id never sent', () => {
    expect(kinds([member('s1', ['a', 'b', 'a', 'zz'], { primary: true })])).to.deep.equal(['applied-twice', 'phantom-write']);
  });
  it('finds an in-sync member that differs, and any member that is not a prefix', () => {
    expect(kinds([member('s1', ['a', 'b'], { primary: true }), member('s2', ['a'])])).to.deep.equal(['divergence']);
    expect(kinds([member('s1', ['a', 'b'], { primary: true }), member('s3', ['b'], { inSync: false })])).to.deep.equal(['divergence']);
  });
  it('wants exactly one serving primary', () => {
    expect(kinds([member('s1', ['a', 'b'])])).to.deep.equal(['divergence']);
  });
});
