import { expect } from 'chai';
import { HaServer, InvalidOptionError } from '../../lib';
import type { HaServerOptions, ReplicatedState } from '../../lib';

const state: ReplicatedState = { apply: () => undefined, snapshot: () => null, restore: () => undefined };
const base: HaServerOptions = { zk: { connect: '127.0.0.1:1' }, service: 'svc', mode: 'primary-backup', journal: false };
const secret = 'sixteen-bytes-or-more';

function optionError(options: HaServerOptions): string | undefined {
  try {
    new HaServer(options);
    return undefined;
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
}

describe('HaServer replicated-state options (validated at construction)', () => {
  it('accepts a state machine and names every bad option', () => {
    expect(optionError({ ...base, state, replication: { secret } })).to.equal(undefined);
    expect(optionError({ ...base, state, replication: { secret: Buffer.alloc(16, 7) } })).to.equal(undefined);
    expect(optionError({ ...base, state })).to.equal('replication.secret');
    expect(optionError({ ...base, state, replication: { secret: 'short' } })).to.equal('replication.secret');
    expect(optionError({ ...base, state, replication: { secret: 42 as unknown as string } })).to.equal('replication.secret');
    expect(optionError({ ...base, state: {} as ReplicatedState })).to.equal('state');
    expect(optionError({ ...base, mode: 'redundant', state, replication: { secret } })).to.equal('state');
    expect(optionError({ ...base, state, replication: { secret, ackTimeoutMs: -1 } })).to.equal('replication.ackTimeoutMs');
    expect(optionError({ ...base, state, replication: { secret, maxPending: 0 } })).to.equal('replication.maxPending');
    expect(optionError({ ...base, state, replication: { secret, chunkBytes: 10 } })).to.equal('replication.chunkBytes');
    // A chunk must fit one frame with its envelope (it never arrived: PAYLOAD_TOO_LARGE on every retry).
    expect(optionError({ ...base, state, replication: { secret, chunkBytes: 8 * 1024 * 1024 } })).to.equal('replication.chunkBytes');
    expect(optionError({ ...base, state, replication: { secret, chunkBytes: 8 * 1024 * 1024, connection: { maxFrameBytes: 16 * 1024 * 1024 } } })).to.equal(undefined);
    expect(optionError({ ...base, state, replication: { secret, connection: { heartbeatMs: 1000, heartbeatTimeoutMs: 500 } } })).to.equal('replication.connection.heartbeatTimeoutMs');
  });

  it('reserves the $repl. prefix for replication', () => {
    expect(optionError({ ...base, state, replication: { secret }, handlers: { '$repl.append': () => 1 } })).to.equal('handlers.$repl.append');
  });

  it('a replicated server has a replica key of its id and a fresh incarnation', () => {
    const s = new HaServer({ ...base, state, replication: { secret }, handlers: { ok: () => 1 } });
    expect(s.replication).to.not.equal(undefined);
    expect(s.replication!.key).to.match(/^.+@[0-9a-f]{8}$/);
    expect(new HaServer(base).replication).to.equal(undefined);
  });
});
