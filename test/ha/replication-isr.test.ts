import { expect } from 'chai';
import {
  decodeIsr, encodeIsr, isEligible, isrHas, IsrError, replicaId, replicaKey, withMember, withoutMembers,
} from '../../lib/coordination/in-sync-set';

describe('in-sync set record', () => {
  const rec = { epoch: 4, members: ['a@1', 'b@2'], committedIndex: 10 };

  it('round-trips as JSON and refuses bad records with a typed error', () => {
    expect(decodeIsr(encodeIsr(rec), '/x')).to.deep.equal(rec);
    for (const bad of ['nope', '[]', '{"epoch":-1,"members":[],"committedIndex":0}', '{"epoch":1,"members":[3],"committedIndex":0}', '{"epoch":1,"members":[]}']) {
      expect(() => decodeIsr(Buffer.from(bad), '/x')).to.throw(IsrError).with.property('code', 'ISR_BAD_RECORD');
    }
  });

  it('names replicas by id and incarnation: a restarted member is not in sync', () => {
    expect(replicaKey('a', '1')).to.equal('a@1');
    expect(replicaId('a@b@1')).to.equal('a@b');
    expect(isrHas(rec, 'a@1')).to.equal(true);
    expect(isrHas(rec, 'a@9')).to.equal(false);
  });

  it('only members are eligible; no set yet = anyone (the first primary creates it)', () => {
    expect(isEligible(rec, 'b@2')).to.equal(true);
    expect(isEligible(rec, 'c@1')).to.equal(false);
    expect(isEligible(undefined, 'c@1')).to.equal(true);
  });

  it("the operator's <id>@* names whichever incarnation runs", () => {
    expect(isrHas({ ...rec, members: ['c@*'] }, 'c@77')).to.equal(true);
  });

  it('adds (replacing an older incarnation of the same id) and removes', () => {
    expect(withMember(rec, 'a@3', 5, 12)).to.deep.equal({ epoch: 5, members: ['a@3', 'b@2'], committedIndex: 12 });
    expect(withoutMembers(rec, ['b@2'], 5, 9)).to.deep.equal({ epoch: 5, members: ['a@1'], committedIndex: 10 });
  });
});
