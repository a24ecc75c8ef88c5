import { expect } from 'chai';
import { HaServer, InvalidOptionError } from '../../lib';
import type { HaServerOptions } from '../../lib';
import { Election } from '../../lib/coordination';
import type { Membership } from '../../lib/coordination';
import type { ZkSession } from '../../lib/zk';

const base: HaServerOptions = { zk: { connect: '127.0.0.1:1' }, service: 'svc', mode: 'primary-backup', journal: false };

function optionError(build: () => unknown): string | undefined {
  try {
    build();
    return undefined;
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
}

describe('leadership options (validated at construction)', () => {
  it('HaServer: standby must be a boolean; leaseFraction a fraction', () => {
    expect(optionError(() => new HaServer({ ...base, standby: false }))).to.equal(undefined);
    expect(optionError(() => new HaServer({ ...base, standby: 'yes' as unknown as boolean }))).to.equal('standby');
    expect(optionError(() => new HaServer({ ...base, leaseFraction: 2 }))).to.equal('leaseFraction');
  });

  it('Election: standby defaults to on, and a bad value is named', () => {
    // Nothing is started: the constructor only validates and wires listeners it does not use yet.
    const session = {} as ZkSession;
    const membership = { paths: { members: '/m' } } as unknown as Membership;
    expect(new Election(session, membership).standbyEnabled).to.equal(true);
    expect(new Election(session, membership, { standby: false }).standbyEnabled).to.equal(false);
    expect(optionError(() => new Election(session, membership, { standby: 1 as unknown as boolean }))).to.equal('standby');
    expect(optionError(() => new Election(session, membership, { leaseMs: 5 }))).to.equal('leaseMs');
  });
});
