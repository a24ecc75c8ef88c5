/**
 * An HaServer in its own process, for faults that must hit a real process: the one server worker
 * of integration tests, benches and the chaos suite. Options (ServerWorkerSpec) switch replicated
 * state, a fixed port behind a proxy, the run log and metrics.
 *
 * Every handler run is logged {event:'run', method, callId, epoch, t0, t1} with
 * process.hrtime.bigint() (CLOCK_MONOTONIC, comparable across processes on one machine), so tests
 * can count runs per epoch and check that no two epochs overlap. The handler `op` (chaos suite) is
 * synchronous: its side effect happens at dispatch, so a run's interval is the moment the lease
 * guard admitted it; replicated, it logs once the op is committed and applied, t1 = the apply.
 *
 *   env ZKHA_WORKER = JSON ServerWorkerSpec (server-spec.ts)
 *   stdin: {"cmd":"stepDown"} {"cmd":"close"} {"cmd":"busy","ms":N} {"cmd":"flaky","on":bool}
 *          {"cmd":"credentials"} {"cmd":"ping","n":N} {"cmd":"dump","tag":T}
 */
import { HaMetrics, HaServer, RpcError } from '../../lib';
import type { CallContext, HaCallContext, HaHandler, ReplicatedState } from '../../lib';
import { workerReplicationSecret } from './server-spec';
import type { ServerWorkerSpec } from './server-spec';
import { emit, onCommand } from './worker-io';

type HandlerMap = Record<string, HaHandler>;

const config = JSON.parse(process.env.ZKHA_WORKER ?? '{}') as ServerWorkerSpec;
const heartbeat = { heartbeatMs: 200, heartbeatTimeoutMs: 600 };
let flaky = false;
let counter = 0;
/** Whether this process holds the lease right now (set once the server exists). */
let leadsNow: () => boolean = () => false;

/** `t1`: when the run's effect happened; default now. */
function emitRun(method: string, callId: string | undefined, epoch: number | undefined, t0: bigint, extra: object = {}, t1 = process.hrtime.bigint()): void {
  emit('run', { method, callId, epoch, t0: t0.toString(), t1: t1.toString(), ...extra });
}

/**
 * Wraps a handler so each run is logged: {event:'run', method, callId, epoch, t0, t1, aborted,
 * leading}. `leading`: the lease held at t0. The lease check admits a call synchronously right
 * before its handler, so a run that starts without the lease was admitted before a freeze that
 * landed between the two — the check-then-act window every lease has, at most one call wide.
 */
function logged<P extends { callId?: string }, R>(method: string, fn: (p: P, ctx: CallContext) => R | Promise<R>) {
  return async (p: P, ctx: CallContext): Promise<R> => {
    const t0 = process.hrtime.bigint();
    const leading = leadsNow();
    try {
      return await fn(p, ctx);
    } finally {
      if (config.logRuns !== false) emitRun(method, p?.callId, ctx.epoch, t0, { aborted: ctx.signal.aborted, leading });
    }
  };
}

function sleepFor(ms: number, ctx: CallContext): Promise<{ id: string }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve({ id: config.id }), ms);
    ctx.signal.addEventListener('abort', () => { clearTimeout(t); reject(ctx.signal.reason); });
  });
}

type Op = { add: string } | { incr: number };
interface Snapshot { ids: string[]; counter: number }

/**
 * `op` handlers of this process waiting for their op, and when it was applied here. A run ends at
 * the apply (the op's effect), not when the handler resumes: under load the continuation can come
 * milliseconds later, and a SIGSTOP landing in between would stretch the run past the pause.
 */
const waiting = new Map<string, bigint | undefined>();

/** The replicated state: the ids written in apply order and a counter. */
class IdsAndCounter implements ReplicatedState<Op, Snapshot> {
  ids: string[] = [];
  counter = 0;
  apply(op: Op): unknown {
    if ('add' in op) {
      if (waiting.has(op.add)) waiting.set(op.add, process.hrtime.bigint());
      this.ids.push(op.add);
      return this.ids.length;
    }
    this.counter += op.incr;
    return this.counter;
  }
  snapshot(): Snapshot {
    return { ids: this.ids.slice(), counter: this.counter };
  }
  restore(s: Snapshot): void {
    this.ids = s.ids.slice();
    this.counter = s.counter;
  }
}
const state = new IdsAndCounter();

const handlers: HandlerMap = {
  whoami: logged('whoami', (_p, ctx) => ({ id: config.id, epoch: ctx.epoch })),
  incr: logged('incr', () => ({ id: config.id, value: ++counter })),
  sleep: logged('sleep', (p: { ms: number; callId?: string }, ctx) => sleepFor(p.ms, ctx)),
  // Slow on the members named in `slow`, fast elsewhere: for hedging.
  slowOn: logged('slowOn', (p: { slow: string[]; ms: number; callId?: string }, ctx) => (p.slow.includes(config.id) ? sleepFor(p.ms, ctx) : { id: config.id })),
  flaky: logged('flaky', () => {
    if (flaky) throw new RpcError('UNAVAILABLE', `${config.id} is flaky`, { notExecuted: true, retryable: true });
    return { id: config.id };
  }),
  op: (p: { callId?: string } | undefined, ctx: CallContext) => {
    emitRun('op', p?.callId, ctx.epoch, process.hrtime.bigint());
    return { id: config.id, epoch: ctx.epoch };
  },
};

const replicatedHandlers: HandlerMap = {
  add: async (p: { id: string }, ctx: HaCallContext) => ({ n: await ctx.replicate<number>({ add: p.id }), member: config.id, epoch: ctx.epoch }),
  incr: async (_p: unknown, ctx: HaCallContext) => ({ value: await ctx.replicate<number>({ incr: 1 }), member: config.id, epoch: ctx.epoch }),
  read: () => ({ counter: state.counter, count: state.ids.length, member: config.id }),
  // The same call without replication (benchmark baseline): answers like `add`, changes nothing.
  plain: (_p: { id: string }, ctx: CallContext) => ({ n: state.ids.length, member: config.id, epoch: ctx.epoch }),
  op: async (p: { callId?: string } | undefined, ctx: HaCallContext) => {
    const t0 = process.hrtime.bigint();
    const id = String(p?.callId);
    waiting.set(id, undefined);
    let applied: bigint | undefined;
    try {
      await ctx.replicate({ add: id });
      applied = waiting.get(id);
    } finally {
      waiting.delete(id);
    }
    // Logged once applied: a failed replicate applied nothing here.
    emitRun('op', p?.callId, ctx.epoch, t0, {}, applied);
    return { id: config.id, epoch: ctx.epoch };
  },
};

/** Loaded only when asked for: prom-client would add to every worker's start-up (the chaos suite times rejoins). */
async function metrics(): Promise<HaMetrics | undefined> {
  if (!config.metrics) return undefined;
  const { Registry } = await import('prom-client');
  return new HaMetrics({ registry: new Registry() });
}

async function main(): Promise<void> {
  const server = new HaServer({
    zk: { connect: config.connect, sessionTimeoutMs: config.sessionTimeoutMs },
    service: config.service,
    mode: config.mode ?? 'primary-backup',
    root: config.root,
    id: config.id,
    weight: config.weight ?? 1,
    zone: config.zone,
    listen: { port: config.port ?? 0 },
    advertiseUrl: config.advertiseUrl,
    metrics: await metrics(),
    leaseFraction: config.leaseFraction,
    leaseMs: config.leaseMs,
    graceMs: config.graceMs,
    journal: config.journal,
    transport: heartbeat,
    handlers: config.replicated ? { ...handlers, ...replicatedHandlers } : handlers,
    ...(config.replicated ? { state: state as ReplicatedState, replication: { connection: heartbeat, secret: workerReplicationSecret(config.service), ...config.replication } } : {}),
  });
  leadsNow = () => server.isPrimary();
  server.on('elected', (e) => emit('elected', e));
  server.on('demoted', (e) => emit('demoted', e));
  server.on('role', (role) => emit('role', { role }));
  server.on('fault', (r) => {
    // Every report (they are rate limited): the story of a chaos trial that could not run.
    emit('fault', { kind: r.kind, detail: r.detail });
    if (r.kind === 'replication' && r.detail.what === 'snapshot-restored') emit('snapshot-restored', r.detail);
  });
  server.session.on('lost', (i) => emit('session-lost', i));
  server.session.on('session', (i) => emit('session-new', i));

  onCommand(async (c) => {
    if (c.cmd === 'stepDown') { emit('stepping'); await server.stepDown(); emit('steppedDown'); }
    if (c.cmd === 'busy') {
      emit('busy');
      const end = process.hrtime.bigint() + BigInt(Math.round(Number(c.ms) * 1e6));
      while (process.hrtime.bigint() < end) { /* stall the event loop */ }
      emit('unbusy');
    }
    if (c.cmd === 'flaky') { flaky = c.on === true; emit('flaky', { on: flaky }); }
    if (c.cmd === 'credentials') {
      const cred = server.session.credentials;
      emit('credentials', cred
        ? { sessionId: cred.sessionId.toString('hex'), password: cred.password.toString('hex'), session: server.session.sessionId }
        : { sessionId: undefined });
    }
    // Lines on one pipe stay in order: once the runner reads this, it has read every run before it.
    if (c.cmd === 'ping') emit('pong', { n: c.n });
    if (c.cmd === 'dump' && server.replication) {
      emit('dump', { ids: state.ids, counter: state.counter, ...server.replication.status(), role: server.role, tag: c.tag });
    }
    if (c.cmd === 'close') { await server.close({ graceMs: config.closeGraceMs }); emit('closed'); process.exit(0); }
  });

  const { url } = await server.start();
  emit('started', { url, id: config.id, key: server.replication?.key });
}

main().catch((e) => { emit('error', { error: String(e) }); process.exit(2); });
