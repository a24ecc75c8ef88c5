/**
 * An HaServer in its own process, for faults that must hit a real process. Every handler run is
 * logged with process.hrtime.bigint() (CLOCK_MONOTONIC, comparable across processes) and the epoch
 * it ran under, so tests can count runs per epoch and check that no two epochs overlap.
 *   env ZKHA_WORKER = JSON {connect, root, service, mode, id, sessionTimeoutMs, weight?, zone?, leaseFraction?, leaseMs?, logRuns?, metrics?}
 *   (metrics: a prom-client registry behind GET /metrics)
 *   stdin commands: {"cmd":"stepDown"} {"cmd":"close"} {"cmd":"busy","ms":N} {"cmd":"flaky","on":bool}
 */
import { Registry } from 'prom-client';
import { HaMetrics, HaServer, RpcError } from '../../lib';
import type { CallContext, ServiceMode } from '../../lib';
import { emit, onCommand } from './worker-io';

interface Config {
  connect: string; root: string; service: string; mode: ServiceMode; id: string; sessionTimeoutMs: number;
  weight?: number; zone?: string; leaseFraction?: number; leaseMs?: number; logRuns?: boolean; metrics?: boolean;
}
const config = JSON.parse(process.env.ZKHA_WORKER ?? '{}') as Config;
let flaky = false;
let counter = 0;

/** Wraps a handler so each run is logged: {event:'run', method, callId, epoch, t0, t1}. */
function logged<P extends { callId?: string }, R>(method: string, fn: (p: P, ctx: CallContext) => R | Promise<R>) {
  return async (p: P, ctx: CallContext): Promise<R> => {
    const t0 = process.hrtime.bigint();
    try {
      return await fn(p, ctx);
    } finally {
      if (config.logRuns !== false) {
        emit('run', { method, callId: p?.callId, epoch: ctx.epoch, t0: t0.toString(), t1: process.hrtime.bigint().toString(), aborted: ctx.signal.aborted });
      }
    }
  };
}

const server = new HaServer({
  zk: { connect: config.connect, sessionTimeoutMs: config.sessionTimeoutMs },
  service: config.service,
  mode: config.mode,
  root: config.root,
  id: config.id,
  weight: config.weight ?? 1,
  zone: config.zone,
  metrics: config.metrics ? new HaMetrics({ registry: new Registry() }) : undefined,
  leaseFraction: config.leaseFraction,
  leaseMs: config.leaseMs,
  transport: { heartbeatMs: 200, heartbeatTimeoutMs: 600 },
  handlers: {
    whoami: logged('whoami', (_p, ctx) => ({ id: config.id, epoch: ctx.epoch })),
    incr: logged('incr', () => ({ id: config.id, value: ++counter })),
    sleep: logged('sleep', (p: { ms: number; callId?: string }, ctx) => new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve({ id: config.id }), p.ms);
      ctx.signal.addEventListener('abort', () => { clearTimeout(t); reject(ctx.signal.reason); });
    })),
    // Slow on the members named in `slow`, fast elsewhere: for hedging.
    slowOn: logged('slowOn', (p: { slow: string[]; ms: number; callId?: string }, ctx) => new Promise((resolve, reject) => {
      if (!p.slow.includes(config.id)) return resolve({ id: config.id });
      const t = setTimeout(() => resolve({ id: config.id }), p.ms);
      ctx.signal.addEventListener('abort', () => { clearTimeout(t); reject(ctx.signal.reason); });
    })),
    flaky: logged('flaky', () => {
      if (flaky) throw new RpcError('UNAVAILABLE', `${config.id} is flaky`, { notExecuted: true, retryable: true });
      return { id: config.id };
    }),
  },
});
server.on('elected', (e) => emit('elected', e));
server.on('demoted', (e) => emit('demoted', e));
server.on('role', (role) => emit('role', { role }));

onCommand(async (c) => {
  if (c.cmd === 'stepDown') { await server.stepDown(); emit('steppedDown'); }
  if (c.cmd === 'close') { await server.close(); emit('closed'); process.exit(0); }
  if (c.cmd === 'busy') { const end = Date.now() + Number(c.ms); while (Date.now() < end) { /* stall the event loop */ } emit('unbusy'); }
  if (c.cmd === 'flaky') { flaky = c.on === true; emit('flaky', { on: flaky }); }
});

server.start().then(({ url }) => emit('started', { url, id: config.id })).catch((e) => { emit('error', { error: String(e) }); process.exit(2); });
