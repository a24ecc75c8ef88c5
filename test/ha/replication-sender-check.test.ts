import { expect } from 'chai';
import { RpcError } from '../../lib';
import {
  claimOf, isUnverified, judgeClaim, mayBeNewer, memberProof, proofValid, replicationSecret, SECRET_META, senderAuthentic, unverifiedError,
} from '../../lib/ha/replication/sender-check';

const G = 'a1';
const none = { epoch: 0, generation: '' };

describe('replication sender check (epochs only from the own ZooKeeper view)', () => {
  it('verifies only the epoch the view acknowledges, in the view\'s generation', () => {
    const view = { epoch: 7, generation: G };
    expect(judgeClaim({ epoch: 7, generation: G }, view, none)).to.equal('verified');
    // A number that merely arrives (2^52) is not verifiable: refused for now, raises nothing.
    expect(judgeClaim({ epoch: 2 ** 52, generation: G }, view, none)).to.equal('unverified');
    expect(judgeClaim({ epoch: 7, generation: 'b2' }, view, none)).to.equal('unverified');
    expect(judgeClaim({ epoch: 6, generation: G }, view, none)).to.equal('stale');
  });

  it('a view without a primary (handover, or it is us) or without a generation verifies nothing', () => {
    expect(judgeClaim({ epoch: 7, generation: G }, { epoch: undefined, generation: G }, none)).to.equal('unverified');
    expect(judgeClaim({ epoch: 7, generation: '' }, { epoch: 7, generation: '' }, none)).to.equal('unverified');
  });

  it('an epoch below one already verified is stale in its generation only', () => {
    const seen = { epoch: 9, generation: G };
    expect(judgeClaim({ epoch: 8, generation: G }, { epoch: undefined, generation: G }, seen)).to.equal('stale');
    // Another generation (ZooKeeper lost its data): sequences restart, the old fence does not apply.
    expect(judgeClaim({ epoch: 3, generation: 'b2' }, { epoch: 3, generation: 'b2' }, seen)).to.equal('verified');
  });

  it('orders epochs within a generation; another generation may be newer', () => {
    expect(mayBeNewer({ epoch: 8, generation: G }, { epoch: 7, generation: G })).to.equal(true);
    expect(mayBeNewer({ epoch: 7, generation: G }, { epoch: 7, generation: G })).to.equal(false);
    expect(mayBeNewer({ epoch: 1, generation: 'b2' }, { epoch: 7, generation: G })).to.equal(true);
  });

  it('reads claims defensively', () => {
    expect(claimOf({ epoch: 3, generation: G })).to.deep.equal({ epoch: 3, generation: G });
    expect(claimOf({ epoch: 3 })).to.deep.equal({ epoch: 3, generation: '' });
    expect(claimOf({ epoch: -1 })).to.equal(undefined);
    expect(claimOf({ epoch: 2 ** 60 })).to.equal(undefined);
    expect(claimOf({ epoch: 3, generation: 5 })).to.equal(undefined);
    expect(claimOf(null)).to.equal(undefined);
  });

  it('the unverified refusal is retryable, not executed, and recognisable', () => {
    const e = unverifiedError({ epoch: 3, generation: G });
    expect(e.retryable).to.equal(true);
    expect(e.notExecuted).to.equal(true);
    expect(isUnverified(e)).to.equal(true);
    expect(isUnverified(new RpcError('UNAVAILABLE', 'x'))).to.equal(false);
  });

  it('the secret: at least 16 bytes, compared from the call meta', () => {
    expect(replicationSecret(undefined)).to.be.a('string');
    expect(replicationSecret('short')).to.be.a('string');
    expect(replicationSecret(12)).to.be.a('string');
    const s = replicationSecret('0123456789abcdef');
    expect(s).to.be.instanceOf(Uint8Array);
    expect(senderAuthentic({ [SECRET_META]: '0123456789abcdef' }, s as Uint8Array)).to.equal(true);
    expect(senderAuthentic({ [SECRET_META]: Buffer.from('0123456789abcdef') }, s as Uint8Array)).to.equal(true);
    expect(senderAuthentic({ [SECRET_META]: '0123456789abcdeX' }, s as Uint8Array)).to.equal(false);
    expect(senderAuthentic({}, s as Uint8Array)).to.equal(false);
  });

  it("a member's proof holds only for its nonce, its own URL and the secret (a relayed answer fails)", () => {
    const secret = new Uint8Array(Buffer.from('0123456789abcdef'));
    const proof = memberProof(secret, 'nonce-0123456789', 'ws://10.0.0.2:7001');
    expect(proofValid(proof, secret, 'nonce-0123456789', 'ws://10.0.0.2:7001')).to.equal(true);
    expect(proofValid(proof, secret, 'nonce-0123456789', 'ws://10.0.0.9:7001')).to.equal(false);
    expect(proofValid(proof, secret, 'nonce-other-12345', 'ws://10.0.0.2:7001')).to.equal(false);
    expect(proofValid(proof, new Uint8Array(16), 'nonce-0123456789', 'ws://10.0.0.2:7001')).to.equal(false);
    expect(proofValid(undefined, secret, 'nonce-0123456789', 'ws://10.0.0.2:7001')).to.equal(false);
  });
});
