import { expect } from 'chai';
import { InvalidOptionError } from '../../lib/base/errors';
import { DEFAULT_ROOT, leaseNodeName, memberSequence, servicePaths, sortMemberNames } from '../../lib/coordination';

describe('coordination paths', () => {
  it('lays out a service under the root (DESIGN.md "ZooKeeper layout")', () => {
    expect(servicePaths('orders')).to.deep.equal({
      root: DEFAULT_ROOT, service: 'orders', servicePath: '/zk-ha/orders',
      members: '/zk-ha/orders/members', leases: '/zk-ha/orders/leases', faults: '/zk-ha/orders/faults',
    });
    expect(leaseNodeName('m-0000000003', '0100000000000abc')).to.equal('m-0000000003.0100000000000abc');
    expect(servicePaths('a.b-c_1', '/').members).to.equal('/a.b-c_1/members');
    expect(servicePaths('s', '/x/y').servicePath).to.equal('/x/y/s');
  });

  it('rejects bad service names and roots with InvalidOptionError naming the option', () => {
    for (const bad of ['', '/s', 's/t', '.hidden', 'a b', 'x'.repeat(129), 7 as unknown as string]) {
      expect(() => servicePaths(bad), JSON.stringify(bad)).to.throw(InvalidOptionError).with.property('option', 'service');
    }
    for (const bad of ['zk-ha', '/zk-ha/', '/a//b', '' as string]) {
      expect(() => servicePaths('s', bad), bad).to.throw(InvalidOptionError).with.property('option', 'root');
    }
  });

  it('memberSequence parses m-<10 digits> only', () => {
    expect(memberSequence('m-0000000042')).to.equal(42);
    expect(memberSequence('m-0000000000')).to.equal(0);
    for (const bad of ['m-42', 'x-0000000042', 'm-00000000421', 'm-00000000a2', 'lock', '']) expect(memberSequence(bad), bad).to.equal(undefined);
  });

  it('sortMemberNames orders by sequence and drops foreign names', () => {
    expect(sortMemberNames(['m-0000000010', 'junk', 'm-0000000002', 'm-0000000100']).map((o) => o.name))
      .to.deep.equal(['m-0000000002', 'm-0000000010', 'm-0000000100']);
  });
});
