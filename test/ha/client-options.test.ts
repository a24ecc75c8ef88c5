import { expect } from 'chai';
import { HaClient, InvalidOptionError, RpcError } from '../../lib';

const base = { zk: { connect: '127.0.0.1:1' }, service: 'svc' };

function optionError(build: () => unknown): InvalidOptionError {
  try {
    build();
  } catch (error) {
    if (error instanceof InvalidOptionError) return error;
    throw error;
  }
  throw new Error('no InvalidOptionError');
}

describe('ha/HaClient options (no ZooKeeper)', () => {
  it('connection and health options fail at construction, naming the option inside its group', () => {
    const cases: [object, string][] = [
      [{ connection: { heartbeatMs: -1 } }, 'connection.heartbeatMs'],
      [{ connection: { maxFrameBytes: 'x' } }, 'connection.maxFrameBytes'],
      [{ connection: { reconnect: 5 } }, 'connection.reconnect'],
      [{ connection: 'fast' }, 'connection'],
      [{ health: { consecutiveFailures: -3 } }, 'health.consecutiveFailures'],
    ];
    for (const [extra, option] of cases) {
      expect(optionError(() => new HaClient({ ...base, ...extra } as never)).option, JSON.stringify(extra)).to.equal(option);
    }
  });

  it('a call deadline that is not a finite number is INVALID_ARGUMENT at once, not a call that never ends', async () => {
    const c = new HaClient({ ...base, mode: 'primary-backup' });
    try {
      for (const deadlineMs of [Number.NaN, 'abc', Infinity, {}]) {
        const started = Date.now();
        const e = await c.call('m', {}, { deadlineMs } as never).then(() => undefined, (err: unknown) => err);
        expect(e, String(deadlineMs)).to.be.instanceOf(RpcError);
        expect(e).to.include({ code: 'INVALID_ARGUMENT', notExecuted: true });
        expect(Date.now() - started).to.be.below(1000);
      }
      const e = await c.call('m', {}, null as never).then(() => undefined, (err: unknown) => err);
      expect(e).to.include({ code: 'INVALID_ARGUMENT', notExecuted: true });
    } finally {
      await c.close();
    }
  });
});
