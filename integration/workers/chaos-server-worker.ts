/**
 * An HaServer for the fault-injection suite (integration/chaos). Unlike ha-server-worker.ts it can
 * reach ZooKeeper through proxies (config.connect is whatever the runner passes, e.g. one TcpProxy
 * per ensemble node), listen on a fixed port behind a client-side proxy (advertiseUrl), and tell
 * its session credentials so the runner can expire the session.
 *
 * Every handler run is logged {event:'run', callId, epoch, t0, t1} with process.hrtime.bigint()
 * (CLOCK_MONOTONIC: comparable across processes on one machine). The handler `op` is synchronous:
 * its side effect happens at dispatch, so a run's interval is the moment the lease guard admitted it.
 *
 * With `replicated`, `op` replicates its callId into a list (the replicated state) and logs the
 * run once the op is committed and applied; `{"cmd":"dump"}` prints the member's copy.
 *
 *   env ZKHA_CHAOS = JSON Config (below)
 *   stdin: {"cmd":"busy","ms":N} {"cmd":"credentials"} {"cmd":"ping","n":N} {"cmd":"dump","tag":T} {"cmd":"close"}
 */
import { HaServer } from '../../lib';
import type { CallContext, HaCallContext, ReplicatedState, ReplicationOptions } from '../../lib';
import { emit, onCommand } from './worker-io';

interface Config {
  connect: string; root: string; service: string; id: string; sessionTimeoutMs: number;
  port?: number; advertiseUrl?: string; leaseFraction?: number;
  replicated?: boolean; replication?: ReplicationOptions;
}
const config = JSON.parse(process.env.ZKHA_CHAOS ?? '{}') as Config;

function op(params: { callId?: string } | undefined, ctx: CallContext): { id: string; epoch: number | undefined } {
  const t0 = process.hrtime.bigint();
  const result = { id: config.id, epoch: ctx.epoch };
  emit('run', { callId: params?.callId, epoch: ctx.epoch, t0: t0.toString(), t1: process.hrtime.bigint().toString() });
  return result;
}

/** The replicated state: callIds in apply order. */
class CallIds implements ReplicatedState<string, string[]> {
  ids: string[] = [];
  apply(id: string): number {
    this.ids.push(id);
    return this.ids.length;
  }
  snapshot(): string[] {
    return this.ids.slice();
  }
  restore(s: string[]): void {
    this.ids = s.slice();
  }
}
const state = new CallIds();

async function replicatedOp(params: { callId?: string } | undefined, ctx: HaCallContext): Promise<{ id: string; epoch: number | undefined }> {
  const t0 = process.hrtime.bigint();
  await ctx.replicate(String(params?.callId));
  // Logged once applied: a failed replicate applied nothing here.
  emit('run', { callId: params?.callId, epoch: ctx.epoch, t0: t0.toString(), t1: process.hrtime.bigint().toString() });
  return { id: config.id, epoch: ctx.epoch };
}

const server = new HaServer({
  zk: { connect: config.connect, sessionTimeoutMs: config.sessionTimeoutMs },
  service: config.service,
  mode: 'primary-backup',
  root: config.root,
  id: config.id,
  listen: { port: config.port ?? 0 },
  advertiseUrl: config.advertiseUrl,
  leaseFraction: config.leaseFraction,
  graceMs: 500,
  journal: false,
  transport: { heartbeatMs: 200, heartbeatTimeoutMs: 600 },
  handlers: { op: config.replicated ? replicatedOp : op },
  ...(config.replicated
    ? { state: state as ReplicatedState, replication: { ackTimeoutMs: 500, connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600 }, ...config.replication } }
    : {}),
});
server.on('elected', (e) => emit('elected', e));
server.on('demoted', (e) => emit('demoted', e));
server.on('role', (role) => emit('role', { role }));
server.session.on('lost', (i) => emit('session-lost', i));
server.session.on('session', (i) => emit('session-new', i));

onCommand(async (c) => {
  if (c.cmd === 'busy') {
    emit('busy');
    const end = process.hrtime.bigint() + BigInt(Math.round(Number(c.ms) * 1e6));
    while (process.hrtime.bigint() < end) { /* stall the event loop */ }
    emit('unbusy');
  }
  if (c.cmd === 'credentials') {
    const cred = server.session.credentials;
    emit('credentials', cred
      ? { sessionId: cred.sessionId.toString('hex'), password: cred.password.toString('hex'), session: server.session.sessionId }
      : { sessionId: undefined });
  }
  // Lines on one pipe stay in order: once the runner reads this, it has read every run before it.
  if (c.cmd === 'ping') emit('pong', { n: c.n });
  if (c.cmd === 'dump' && server.replication) emit('dump', { tag: c.tag, ids: state.ids, ...server.replication.status() });
  if (c.cmd === 'close') { await server.close({ graceMs: 200 }); emit('closed'); process.exit(0); }
});

server.start().then(({ url }) => emit('started', { url, id: config.id, key: server.replication?.key })).catch((e) => { emit('error', { error: String(e) }); process.exit(2); });
