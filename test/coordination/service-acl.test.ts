import { expect } from 'chai';
import { excessGrants } from '../../lib/coordination/service-acl';
import { journalSequence } from '../../lib/coordination/fault-journal';
import { acl } from '../../lib/zk';

describe('service ACL comparison', () => {
  const wanted = [acl.digest('svc', 'pw', ['all']), ...acl.worldRead()];

  it('an equal or narrower ACL grants nothing more', () => {
    expect(excessGrants(wanted, wanted)).to.deep.equal([]);
    expect(excessGrants(acl.worldRead(), wanted)).to.deep.equal([]);
    expect(excessGrants([acl.digest('svc', 'pw', ['read', 'write'])], wanted)).to.deep.equal([]);
  });

  it('names what an open or foreign ACL grants beyond the configured one', () => {
    expect(excessGrants(acl.open(), wanted)).to.deep.equal(['world:anyone: write, create, delete, admin']);
    expect(excessGrants([acl.digest('eve', 'x', ['create'])], wanted)).to.have.length(1);
    expect(excessGrants([{ scheme: 'ip', id: '10.0.0.1', perms: ['read'] }], wanted)).to.deep.equal([]); // world read covers it
  });

  it('matches a digest id ZooKeeper redacted ("user:x") by its user', () => {
    expect(excessGrants([{ scheme: 'digest', id: 'svc:x', perms: ['all'] }], wanted)).to.deep.equal([]);
    expect(excessGrants([{ scheme: 'digest', id: 'eve:x', perms: ['all'] }], wanted)).to.have.length(1);
  });

  it('an "auth" entry covers the identities of the creating session', () => {
    const creator = [{ scheme: 'auth', id: '', perms: ['all'] as const }];
    expect(excessGrants([acl.digest('svc', 'pw')], creator, ['digest'])).to.deep.equal([]);
    expect(excessGrants([acl.digest('svc', 'pw')], creator, [])).to.have.length(1);
  });

  it('journal entry names: f-<10 digits> only', () => {
    expect(journalSequence('f-0000000042')).to.equal(42);
    for (const name of ['f-42', 'x-0000000042', 'f-00000000a2', 'f-00000000420']) expect(journalSequence(name), name).to.equal(undefined);
  });
});
