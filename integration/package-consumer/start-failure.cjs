// Three HaServers whose start() cannot complete: ZooKeeper enforcing a quota that leaves room for
// one member ("quota"), or no ZooKeeper at all ("unreachable"). Every start() must settle with a
// typed error and a "start-failed" report, and the process must then end by itself: no
// process.exit here, so a listener, socket or timer left open by a failed start() keeps it alive.
//   node start-failure.cjs <quota|unreachable> <connect> <root>
// Loads 'zk-ha' as installed from the tarball, or ZK_HA_MODULE (the sources, under tsx).
'use strict';
const { HaServer, ZkHaError } = require(process.env.ZK_HA_MODULE || 'zk-ha');

const [mode, connect, root] = process.argv.slice(2);
const emit = (event, fields) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);

async function main() {
  const servers = ['s0', 's1', 's2'].map((id) => new HaServer({
    zk: { connect, sessionTimeoutMs: 4000, startTimeoutMs: mode === 'unreachable' ? 1500 : 20000 },
    service: 'quota',
    mode: 'primary-backup',
    root,
    id,
    handlers: { ping: () => 'pong' },
  }));
  const faults = [];
  for (const s of servers) s.on('fault', (f) => { if (f.kind === 'start-failed') faults.push({ id: s.id, code: f.detail.code }); });
  const t0 = Date.now();
  const results = await Promise.allSettled(servers.map((s) => s.start()));
  emit('started', {
    ms: Date.now() - t0,
    results: results.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason instanceof ZkHaError ? r.reason.code : `untyped: ${String(r.reason)}`)),
    roles: servers.map((s) => s.role),
    faults,
  });
  await Promise.all(servers.filter((s) => s.role !== 'stopped').map((s) => s.close({ graceMs: 0 })));
  emit('closed', {});
}
main().catch((error) => { emit('crashed', { error: String(error && error.stack) }); process.exitCode = 3; });
