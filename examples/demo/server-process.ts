import type { ChildProcess } from 'child_process';
import * as path from 'path';
import { createInterface } from 'readline';
import { spawnTracked } from '../../integration/harness';

export type ServerState = 'starting' | 'alive' | 'paused' | 'stopping' | 'stopped' | 'killed' | 'crashed';

const REPO_ROOT = path.join(__dirname, '..', '..');

/**
 * One example server (examples/pb-server.ts or redundant-server.ts) as a real child process, so
 * that SIGKILL, SIGSTOP and SIGTERM hit a process. Its role is read from the lines it logs.
 */
export class ServerProcess {
  state: ServerState = 'stopped';
  role = '-';
  epoch: number | undefined;
  pid: number | undefined;
  starts = 0;
  private child: ChildProcess | undefined;
  private closed: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly script: string,
    private readonly env: Readonly<Record<string, string>>,
    private readonly log: (line: string) => void,
  ) {}

  get running(): boolean {
    return this.state === 'starting' || this.state === 'alive' || this.state === 'paused' || this.state === 'stopping';
  }

  /** Starts the process; resolves once it logs "started" (listening and registered). */
  async start(timeoutMs = 30000): Promise<void> {
    this.starts++;
    this.state = 'starting';
    this.role = 'starting';
    this.epoch = undefined;
    const env: Record<string, string | undefined> = { ...process.env, ...this.env, SERVER_ID: this.id, PORT: '0' };
    delete env.ADVERTISE_URL; // the demo's servers listen on loopback whatever the caller's environment says
    delete env.HOST;
    const child = spawnTracked(process.execPath, ['-r', 'tsx/cjs', path.join(REPO_ROOT, 'examples', this.script)], {
      cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.pid = child.pid;
    let started: (() => void) | undefined;
    const isStarted = new Promise<void>((resolve) => { started = resolve; });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (this.child !== child || !this.running) return;
      const role = /^\S+ role (\w+)(?: epoch (\d+))?/.exec(line);
      if (role) {
        this.role = role[1]!;
        this.epoch = role[2] === undefined ? undefined : Number(role[2]);
      }
      if (/^\S+ started /.test(line)) started?.();
      this.log(line);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.log(`${this.id} stderr: ${line}`));
    this.closed = new Promise<void>((resolve) => child.once('close', (code, signal) => {
      if (this.child === child) {
        if (this.state === 'stopping') this.state = 'stopped';
        else if (this.state !== 'killed') {
          this.state = 'crashed';
          this.log(`${this.id} exited unexpectedly (code ${code}, signal ${signal})`);
        }
        this.role = '-';
        this.epoch = undefined;
      }
      resolve();
    }));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        isStarted,
        this.closed.then(() => { throw new Error(`${this.id} exited before it started`); }),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${this.id} did not start within ${timeoutMs} ms`)), timeoutMs); }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (this.state === 'starting') this.state = 'alive';
  }

  /** SIGKILL; resolves when the process is gone. */
  async kill(): Promise<void> {
    if (!this.running || !this.child) return;
    this.state = 'killed';
    this.child.kill('SIGKILL');
    await this.closed;
  }

  /** SIGSTOP: the process keeps its sockets and ZooKeeper session but runs nothing. */
  pause(): void {
    if (this.state !== 'alive' || !this.child) return;
    this.child.kill('SIGSTOP');
    this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused' || !this.child) return;
    this.child.kill('SIGCONT');
    this.state = 'alive';
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child?.kill(sig);
  }

  /** SIGTERM (graceful close in the example); SIGKILL if it has not exited after `timeoutMs`. */
  async stop(timeoutMs = 10000): Promise<void> {
    if (!this.running || !this.child) return;
    const child = this.child;
    if (this.state === 'paused') child.kill('SIGCONT');
    this.state = 'stopping';
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }
}
