import type { ChildProcess } from 'child_process';
import { createInterface } from 'readline';
import * as path from 'path';
import { spawnTracked } from '../harness';
import { eventually, sleep } from './wait';

/** A line of JSON a worker prints on stdout: `{ "event": "...", ... }`. */
export interface WorkerEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

/**
 * A real child process running a TypeScript worker from integration/workers/, so that faults
 * (SIGKILL, SIGSTOP, a busy loop) hit a process, not a simulation. Its stdout JSON lines are
 * collected as events; stderr is kept for failure messages.
 */
export class Worker {
  readonly events: WorkerEvent[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcess;
  private exited = false;
  readonly exit: Promise<number | null>;

  constructor(script: string, args: readonly string[] = [], env: Record<string, string> = {}) {
    const file = path.join(__dirname, '..', 'workers', script);
    this.child = spawnTracked(process.execPath, ['-r', 'tsx/cjs', file, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as WorkerEvent);
      } catch {
        this.stderr.push(`stdout: ${line}`);
      }
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exit = new Promise((resolve) => this.child.once('exit', (code) => { this.exited = true; resolve(code); }));
  }

  get pid(): number {
    return this.child.pid!;
  }
  get alive(): boolean {
    return !this.exited;
  }

  of(event: string): WorkerEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Waits for the `count`th `event` (matching `where`); `giveUp` ends the wait early with an error. */
  async waitFor(event: string, count = 1, timeoutMs = 20000, where?: (e: WorkerEvent) => boolean, giveUp?: () => boolean): Promise<WorkerEvent> {
    let gaveUp = false;
    await eventually(`worker ${this.pid} event "${event}" x${count}; stderr: ${this.stderr.slice(-5).join(' | ')}`, () => {
      if (this.of(event).filter((e) => !where || where(e)).length >= count) return true;
      if (giveUp?.()) gaveUp = true;
      return gaveUp;
    }, timeoutMs);
    if (gaveUp) throw new Error(`worker ${this.pid} gave up waiting for "${event}"`);
    return this.of(event).filter((e) => !where || where(e))[count - 1]!;
  }

  /** Sends a command line to the worker's stdin. */
  send(command: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(sig);
  }

  /** Asks the worker to close (`{"cmd":"close"}`), waits up to `timeoutMs` for it to exit, then kills what is left. */
  async shutdown(timeoutMs = 5000): Promise<void> {
    if (!this.exited) {
      this.send({ cmd: 'close' });
      await Promise.race([this.exit, sleep(timeoutMs)]);
    }
    await this.kill();
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exit;
  }
}

