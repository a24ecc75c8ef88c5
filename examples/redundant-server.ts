/**
 * A redundant "echo/hash" service: every member serves; clients spread calls by weight.
 *   ZK_CONNECT=127.0.0.1:2181 SERVICE=hasher WEIGHT=2 SERVER_ID=r1 npx tsx examples/redundant-server.ts
 * Optional: PORT, ADVERTISE_URL, ZK_ROOT, SESSION_TIMEOUT_MS, ZONE.
 * `kill -USR2 <pid>` toggles a "flaky" mode (80% of calls fail) to watch clients eject the member.
 */
import { createHash } from 'crypto';
import { HaServer, RpcError } from '../lib';

const id = process.env.SERVER_ID ?? `r-${process.pid}`;
let flaky = false;

const server = new HaServer({
  zk: { connect: process.env.ZK_CONNECT ?? '127.0.0.1:2181', sessionTimeoutMs: Number(process.env.SESSION_TIMEOUT_MS ?? 5000) },
  service: process.env.SERVICE ?? 'hasher',
  mode: 'redundant',
  root: process.env.ZK_ROOT,
  id,
  weight: Number(process.env.WEIGHT ?? 1),
  zone: process.env.ZONE,
  listen: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) },
  advertiseUrl: process.env.ADVERTISE_URL,
  handlers: {
    echo: (p: unknown) => (failSometimes(), { id, echo: p }),
    hash: (p: { text?: string } | undefined) => (failSometimes(), { id, sha256: createHash('sha256').update(String(p?.text ?? '')).digest('hex') }),
  },
});

/** "Not executed" errors are safe for the client to retry on another member. */
function failSometimes(): void {
  if (flaky && Math.random() < 0.8) throw new RpcError('UNAVAILABLE', `${id} is flaky`, { notExecuted: true });
}

server.on('role', (role) => console.log(`${id} role ${role}`));
process.on('SIGUSR2', () => { flaky = !flaky; console.log(`${id} flaky ${flaky ? 'on' : 'off'}`); });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void server.close().then(() => { console.log(`${id} closed`); process.exit(0); }));
}

server.start().then(
  ({ url }) => console.log(`${id} started ${url} pid ${process.pid} weight ${process.env.WEIGHT ?? 1}`),
  (error: unknown) => { console.error(`${id} failed to start:`, error); process.exit(1); },
);
