import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import type { Member } from '../../lib/coordination';
import { EndpointPool } from '../../lib/ha/endpoint-pool';
import { FaultReporter } from '../../lib/ops/fault-reporter';
import { RpcError, RpcServer } from '../../lib/transport';
import { expectRejection, until } from '../transport/helpers';

function member(name: string, url: string): Member {
  return {
    name, path: `/svc/members/${name}`, sequence: 1, owner: '0',
    record: { id: name, url, weight: 1, pid: 1, host: 'localhost', startedAt: 0, version: '0.1.0' },
  };
}

/**
 * An idempotent call in flight to a member that leaves is cancelled at once (and may go again
 * elsewhere); the link to the member's "left" signal costs no AbortSignal per call and leaves no
 * listener behind.
 */
describe('endpoint pool: calls to a member that leaves', () => {
  let server: RpcServer;
  let pool: EndpointPool;
  let serverSignals: AbortSignal[];

  beforeEach(async () => {
    serverSignals = [];
    server = new RpcServer({
      handlers: {
        hang: (_p, ctx) => { serverSignals.push(ctx.signal); return new Promise(() => undefined); },
        echo: (p) => p,
      },
    });
    const { url } = await server.listen();
    pool = new EndpointPool({ reconnect: false }, 'round-robin', {}, new FaultReporter({ service: 'svc' }), undefined, 60_000);
    pool.update([member('a', url)]);
    await pool.waitAnyUp(5000);
  });

  afterEach(async () => {
    await pool.close();
    await server.close({ graceMs: 0 });
  });

  it('an idempotent call is cancelled when its member leaves (UNAVAILABLE, may have run), the server told; a non-idempotent one is left to finish', async () => {
    const ep = pool.pick(undefined)!;
    const deadline = performance.now() + 10_000;
    const caller = new AbortController();
    const idem = pool.attempt(ep, 'hang', null, { idempotent: true }, caller.signal, deadline);
    const other = pool.attempt(ep, 'hang', null, { idempotent: false }, undefined, deadline);
    other.catch(() => undefined);
    await until(() => serverSignals.length === 2, 2000, 'both handlers started');
    expect(getEventListeners(ep.left, 'abort')).to.have.length(1);
    pool.update([]);
    const e = await expectRejection(idem);
    expect(e).to.be.instanceOf(RpcError);
    expect(e).to.include({ code: 'UNAVAILABLE', notExecuted: false, retryable: true });
    expect(e.message).to.include('left the group');
    await until(() => serverSignals.filter((s) => s.aborted).length === 1, 2000, 'server saw one cancel');
    expect(getEventListeners(ep.left, 'abort')).to.have.length(0);
    expect(getEventListeners(caller.signal, 'abort')).to.have.length(0);
    expect(ep.connection.outstanding).to.equal(1); // the non-idempotent call drains
  });

  it('the caller\'s own cancel stays CANCELLED; answered idempotent calls leave no listener on the member\'s signal, and many at once raise no leak warning', async () => {
    const ep = pool.pick(undefined)!;
    const deadline = performance.now() + 10_000;
    for (let i = 0; i < 20; i++) {
      const r = await pool.attempt<number>(ep, 'echo', i, { idempotent: true }, i % 2 === 0 ? new AbortController().signal : undefined, deadline);
      expect(r.result).to.equal(i);
    }
    expect(getEventListeners(ep.left, 'abort')).to.have.length(0);
    // Many idempotent calls in flight at once: one listener each on the member's signal, no leak warning.
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => { warnings.push(w); };
    process.on('warning', onWarning);
    try {
      const many = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.attempt<number>(ep, 'echo', i, { idempotent: true }, undefined, deadline)));
      expect(many.map((r) => r.result)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.name)).to.not.include('MaxListenersExceededWarning');
    expect(getEventListeners(ep.left, 'abort')).to.have.length(0);
    const caller = new AbortController();
    const p = pool.attempt(ep, 'hang', null, { idempotent: true }, caller.signal, deadline);
    await until(() => serverSignals.length === 1, 2000, 'handler started');
    caller.abort();
    expect(await expectRejection(p)).to.include({ code: 'CANCELLED' });
    expect(getEventListeners(ep.left, 'abort')).to.have.length(0);
  });
});
