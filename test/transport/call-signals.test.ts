import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import type { RpcError } from '../../lib/transport';
import { expectRejection, startPair, until } from './helpers';

/** CallOptions.alsoCancelOn: a second signal that cancels a call like `signal` (the HA pool's "member left"). */
describe('transport call cancelled by either of two signals', () => {
  const hang = (): Promise<never> => new Promise<never>(() => undefined);

  it('the second signal cancels a sent call (CANCELLED, its reason, the server told) and both listeners go', async () => {
    let serverSignal: AbortSignal | undefined;
    const pair = await startPair({ handlers: { hang: (_p, ctx) => { serverSignal = ctx.signal; return hang(); } } });
    try {
      const caller = new AbortController();
      const left = new AbortController();
      const p = pair.client.call('hang', null, { signal: caller.signal, alsoCancelOn: left.signal, timeoutMs: 10_000 });
      expect(getEventListeners(caller.signal, 'abort')).to.have.length(1);
      expect(getEventListeners(left.signal, 'abort')).to.have.length(1);
      await until(() => serverSignal !== undefined, 2000, 'handler started');
      left.abort('member left');
      const e = await expectRejection(p);
      expect(e).to.include({ code: 'CANCELLED', notExecuted: false });
      expect((e as unknown as RpcError).cause).to.equal('member left');
      await until(() => serverSignal!.aborted, 2000, 'server saw the cancel');
      expect(getEventListeners(caller.signal, 'abort')).to.have.length(0);
      expect(getEventListeners(left.signal, 'abort')).to.have.length(0);
      expect(pair.client.outstanding).to.equal(0);
    } finally {
      await pair.cleanup();
    }
  });

  it('the caller\'s signal still cancels, with its own reason, and the long-lived second signal keeps no listener', async () => {
    const pair = await startPair({ handlers: { hang } });
    try {
      const left = new AbortController();
      const caller = new AbortController();
      const p = pair.client.call('hang', null, { signal: caller.signal, alsoCancelOn: left.signal, timeoutMs: 10_000 });
      caller.abort('caller gave up');
      const e = await expectRejection(p);
      expect(e).to.include({ code: 'CANCELLED' });
      expect((e as unknown as RpcError).cause).to.equal('caller gave up');
      expect(getEventListeners(left.signal, 'abort')).to.have.length(0);
      expect(left.signal.aborted).to.equal(false);
    } finally {
      await pair.cleanup();
    }
  });

  it('answered calls leave no listener on either signal; only the second signal given works too', async () => {
    const pair = await startPair({ handlers: { echo: (p) => p } });
    try {
      const left = new AbortController();
      const caller = new AbortController();
      for (let i = 0; i < 50; i++) {
        const r = await pair.client.call('echo', i, { signal: i % 2 === 0 ? caller.signal : undefined, alsoCancelOn: left.signal });
        expect(r.result).to.equal(i);
      }
      expect(getEventListeners(left.signal, 'abort')).to.have.length(0);
      expect(getEventListeners(caller.signal, 'abort')).to.have.length(0);
    } finally {
      await pair.cleanup();
    }
  });

  it('an already-aborted second signal never sends the call', async () => {
    let ran = 0;
    const pair = await startPair({ handlers: { echo: (p) => { ran++; return p; } } });
    try {
      const e = await expectRejection(pair.client.call('echo', 1, { alsoCancelOn: AbortSignal.abort('gone') }));
      expect(e).to.include({ code: 'CANCELLED', notExecuted: true });
      expect((e as unknown as RpcError).cause).to.equal('gone');
      expect((await pair.client.call('echo', 2)).result).to.equal(2);
      expect(ran).to.equal(1);
    } finally {
      await pair.cleanup();
    }
  });
});
