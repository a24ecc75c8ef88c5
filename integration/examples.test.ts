/** The README's server and client (examples/minimal-*.ts) run as written, as real processes. */
import { expect } from 'chai';
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { ZkSession } from '../lib/blocks';
import { spawnTracked } from './harness';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually } from './support/wait';

const run = promisify(execFile);
const example = (name: string): string => path.join(__dirname, '..', 'examples', name);

describe('README examples (real ZooKeeper, real processes)', function () {
  this.timeout(60000);
  it('two minimal servers elect one primary, and the minimal client gets its answer', async () => {
    const { connectString } = await sharedZooKeeper();
    // The examples use the default root; a chroot keeps this run apart from others.
    const chroot = `/examples-${process.pid}-${Date.now()}`;
    const s = new ZkSession({ connect: connectString });
    await s.start();
    await s.mkdirp(chroot);
    await s.close();
    const env = { ...process.env, ZK_CONNECT: `${connectString}${chroot}` };
    const servers = [0, 1].map(() => spawnTracked(process.execPath, ['-r', 'tsx/cjs', example('minimal-server.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const out = servers.map(() => [] as string[]);
    servers.forEach((child, i) => child.stdout!.on('data', (d: Buffer) => out[i]!.push(d.toString())));
    try {
      await eventually('one primary and one backup', () => {
        const roles = out.map((o) => o.join(''));
        return roles.some((r) => r.includes('role: primary')) && roles.some((r) => r.includes('role: backup'));
      }, 30000);
      const { stdout } = await run(process.execPath, ['-r', 'tsx/cjs', example('minimal-client.ts')], { env, timeout: 30000 });
      expect(stdout).to.match(/hello world, from the primary of epoch \d+/);
    } finally {
      for (const child of servers) child.kill('SIGTERM');
      await Promise.all(servers.map((child) => new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))));
    }
  });
});
