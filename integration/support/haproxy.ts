/**
 * A real HAProxy (Debian's package) for tests and benches: a generated haproxy.cfg and admin socket
 * in a temp dir, a frontend on a free loopback port, the process tracked like every other child so
 * it never outlives the test. Missing haproxy fails with the command that installs it.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderHaproxyConfig } from '../../bin/cli/haproxy/config';
import { RuntimeApi } from '../../bin/cli/haproxy/runtime-api';
import { freePort, spawnTracked } from '../harness';
import { releaseTempDir, trackTempDir } from '../harness/processes';
import { eventually } from './wait';

export const HAPROXY_CANDIDATES = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy'];

export function findHaproxy(): string {
  const found = HAPROXY_CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) throw new Error('HAProxy is not installed: run `apt-get install haproxy` as root (or `npm run setup -- --ops`)');
  return found;
}

export interface RunningHaproxy {
  /** ws:// URL of the frontend clients connect to. */
  readonly url: string;
  readonly socket: string;
  readonly backend: string;
  readonly config: string;
  readonly api: RuntimeApi;
  readonly child: ChildProcess;
  readonly output: string[];
  stop(): Promise<void>;
}

export async function startHaproxy(opts: { backend?: string; mode?: 'primary-backup' | 'redundant'; socketLevel?: 'admin' | 'operator' } = {}): Promise<RunningHaproxy> {
  const bin = findHaproxy();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkha-haproxy-'));
  trackTempDir(dir);
  const port = await freePort();
  const backend = opts.backend ?? 'svc';
  const socket = path.join(dir, 'admin.sock');
  const rendered = renderHaproxyConfig({ bind: `127.0.0.1:${port}`, socket, backend, mode: opts.mode ?? 'primary-backup' });
  const config = opts.socketLevel === 'operator' ? rendered.replace('level admin', 'level operator') : rendered;
  const cfgFile = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfgFile, config);
  // -db: foreground, no daemon, so the tracked pid is HAProxy itself.
  const child = spawnTracked(bin, ['-db', '-f', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const api = new RuntimeApi(socket);
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    releaseTempDir(dir);
  };
  try {
    await eventually(`haproxy admin socket (output: ${output.join('').slice(-300)})`, async () => {
      if (exited) throw new Error('haproxy exited');
      return (await api.command('show info')).includes('Name: HAProxy');
    }, 10000);
  } catch (error) {
    await stop();
    throw new Error(`haproxy did not start: ${(error as Error).message}; output: ${output.join('').slice(-500)}`);
  }
  return { url: `ws://127.0.0.1:${port}`, socket, backend, config, api, child, output, stop };
}
