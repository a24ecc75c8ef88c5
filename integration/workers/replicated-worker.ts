/**
 * An HaServer with replicated state in its own process: the state is the list of ids written
 * (`add`) and a counter (`incr`). Every member can print its state (`{"cmd":"dump"}` → event
 * "dump") so tests compare the members' copies.
 *   env ZKHA_WORKER = JSON {connect, root, service, id, sessionTimeoutMs, leaseFraction?, replication?}
 *   stdin commands: {"cmd":"dump"} {"cmd":"stepDown"} {"cmd":"close"}
 */
import { HaServer } from '../../lib';
import type { ReplicatedState, ReplicationOptions } from '../../lib';
import { emit, onCommand } from './worker-io';

interface Config {
  connect: string; root: string; service: string; id: string; sessionTimeoutMs: number;
  leaseFraction?: number; replication?: ReplicationOptions;
}
const config = JSON.parse(process.env.ZKHA_WORKER ?? '{}') as Config;

type Op = { add: string } | { incr: number };
interface Snapshot { ids: string[]; counter: number }

/** The list of ids in apply order and a counter. */
class IdsAndCounter implements ReplicatedState<Op, Snapshot> {
  ids: string[] = [];
  counter = 0;
  apply(op: Op): unknown {
    if ('add' in op) {
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
const server = new HaServer({
  zk: { connect: config.connect, sessionTimeoutMs: config.sessionTimeoutMs },
  service: config.service,
  mode: 'primary-backup',
  root: config.root,
  id: config.id,
  leaseFraction: config.leaseFraction,
  transport: { heartbeatMs: 200, heartbeatTimeoutMs: 600 },
  state: state as ReplicatedState,
  replication: { connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600 }, ...config.replication },
  handlers: {
    add: async (p: { id: string }, ctx) => ({ n: await ctx.replicate<number>({ add: p.id }), member: config.id, epoch: ctx.epoch }),
    incr: async (_p, ctx) => ({ value: await ctx.replicate<number>({ incr: 1 }), member: config.id, epoch: ctx.epoch }),
    read: () => ({ counter: state.counter, count: state.ids.length, member: config.id }),
    // The same call without replication (benchmark baseline): answers like `add`, changes nothing.
    plain: (_p: { id: string }, ctx) => ({ n: state.ids.length, member: config.id, epoch: ctx.epoch }),
  },
});
server.on('elected', (e) => emit('elected', e));
server.on('demoted', (e) => emit('demoted', e));
server.on('fault', (f) => {
  if (f.kind.startsWith('isr') || f.kind === 'replication') emit('fault', { kind: f.kind, detail: f.detail });
});

onCommand(async (c) => {
  if (c.cmd === 'dump') {
    emit('dump', { ids: state.ids, counter: state.counter, ...server.replication!.status(), role: server.role, tag: c.tag });
  }
  if (c.cmd === 'stepDown') { await server.stepDown(); emit('steppedDown'); }
  if (c.cmd === 'close') { await server.close(); emit('closed'); process.exit(0); }
});

server.start()
  .then(({ url }) => emit('started', { url, id: config.id, key: server.replication!.key }))
  .catch((e) => { emit('error', { error: String(e) }); process.exit(2); });
