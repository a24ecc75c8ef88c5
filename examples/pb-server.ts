/**
 * A primary/backup "counter" service: only the primary runs handlers; the backups wait in line.
 *   ZK_CONNECT=127.0.0.1:2181 SERVICE=counter PORT=0 SERVER_ID=s1 npx tsx examples/pb-server.ts
 * Optional: ADVERTISE_URL (the URL clients use, e.g. in docker), ZK_ROOT, SESSION_TIMEOUT_MS.
 * REPL_SECRET: the replication secret every server of the service shares and no client knows
 * (at least 16 characters; docs/replication.md). Without it a fixed example value is used, with a warning.
 * The counter is replicated state (docs/replication.md): an increment is answered only once every
 * in-sync backup has it, so a backup that takes over continues from the last acknowledged value.
 */
import { HaServer } from '../lib';
import type { ReplicatedState } from '../lib';

const id = process.env.SERVER_ID ?? `pb-${process.pid}`;
const secret = process.env.REPL_SECRET ?? 'example-only-secret-set-REPL_SECRET';
if (process.env.REPL_SECRET === undefined) console.log(`${id} warning: REPL_SECRET not set, using the example's fixed replication secret (anyone who reads this file can send replication calls)`);
let counter = 0;

/** The replicated state machine: ops are increments; a snapshot is the value. */
const state: ReplicatedState<{ by: number }, number> = {
  apply: (op) => (counter += op.by),
  snapshot: () => counter,
  restore: (value) => { counter = value; },
};

const server = new HaServer({
  zk: { connect: process.env.ZK_CONNECT ?? '127.0.0.1:2181', sessionTimeoutMs: Number(process.env.SESSION_TIMEOUT_MS ?? 5000) },
  service: process.env.SERVICE ?? 'counter',
  mode: 'primary-backup',
  root: process.env.ZK_ROOT,
  id,
  listen: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) },
  advertiseUrl: process.env.ADVERTISE_URL,
  state: state as ReplicatedState,
  replication: { secret },
  handlers: {
    incr: async (p: { by?: number } | undefined, ctx) => ({ value: await ctx.replicate<number>({ by: p?.by ?? 1 }), epoch: ctx.epoch }),
    get: () => ({ value: counter }),
    whoami: (_p, ctx) => ({ id, pid: process.pid, epoch: ctx.epoch }),
  },
});

server.on('role', (role) => console.log(`${id} role ${role}${server.epoch === undefined ? '' : ` epoch ${server.epoch}`}`));
server.on('demoted', ({ epoch, reason }) => console.log(`${id} demoted from epoch ${epoch}: ${reason}`));
server.on('fault', (f) => {
  if (f.kind.startsWith('session')) console.log(`${id} ${f.kind}`);
  if (f.kind.startsWith('isr')) console.log(`${id} ${f.kind} ${JSON.stringify(f.detail)}`);
});

async function shutdown(signal: string): Promise<void> {
  console.log(`${id} ${signal}: closing gracefully`);
  await server.close(); // leaves the group first, so the next in line takes over before we stop
  console.log(`${id} closed`);
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

server.start().then(
  ({ url }) => console.log(`${id} started ${url} pid ${process.pid}`),
  (error: unknown) => { console.error(`${id} failed to start:`, error); process.exit(1); },
);
