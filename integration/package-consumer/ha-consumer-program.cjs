// The program of the package consumers ha-consumer.cjs (require) and ha-consumer.mjs (import):
// two HaServer processes and an HaClient; the primary is SIGKILLed and the client keeps calling.
// Prints one JSON line {event:"result", ...}. It never loads zk-ha itself: each consumer passes
// the exports it loaded its own way, and the path of its own file, run again for the servers.
'use strict';
const { spawn } = require('node:child_process');
const { createInterface } = require('node:readline');

const emit = (event, fields) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);

/**
 * The exports { HaServer, HaClient, RpcError, ZkSession } as the consumer loaded them; self: the
 * consumer's file; SERVICE: its service name. argv: client <connect> <root> | server <connect> <root> <id>.
 */
function main({ HaServer, HaClient, RpcError, ZkSession }, self, SERVICE) {
  const [role, connect, root, id] = process.argv.slice(2);

  async function server() {
    const s = new HaServer({
      zk: { connect, sessionTimeoutMs: 2000 },
      service: SERVICE,
      mode: 'primary-backup',
      root,
      id,
      handlers: { whoami: (_p, ctx) => ({ id, pid: process.pid, epoch: ctx.epoch }) },
    });
    s.on('role', (r) => emit('role', { id, role: r }));
    // The parent's end of stdin closes when it dies: never outlive it.
    process.stdin.on('end', () => process.exit(0)).resume();
    await s.start();
  }

  async function client() {
    if (typeof ZkSession !== 'function') throw new Error('zk-ha/blocks: no ZkSession');
    const children = ['a', 'b'].map((sid) => {
      const child = spawn(process.execPath, [self, 'server', connect, root, sid], { stdio: ['pipe', 'pipe', 'inherit'] });
      createInterface({ input: child.stdout }).on('line', () => undefined);
      return child;
    });
    const c = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: SERVICE, root, deadlineMs: 15000 });
    try {
      await c.start();
      const first = await c.call('whoami', undefined, { idempotent: true });
      process.kill(first.pid, 'SIGKILL');
      const after = [];
      for (let i = 0; i < 5; i++) after.push(await c.call('whoami', undefined, { idempotent: true }));
      emit('result', { first: first.id, after: after.map((r) => r.id), epochs: [first.epoch, ...after.map((r) => r.epoch)], rpcError: typeof RpcError });
    } finally {
      await c.close();
      for (const child of children) child.kill('SIGKILL');
    }
  }

  (role === 'server' ? server() : client()).catch((error) => {
    emit('error', { error: String(error && error.stack) });
    process.exit(1);
  });
}

module.exports = { main };
