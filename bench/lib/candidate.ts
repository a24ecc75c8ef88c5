import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { spawnTracked } from '../../integration/harness';
import { msBetween, nowNs } from './clock';

/** A JSON line a candidate printed: `{"event": "...", "t": "<CLOCK_MONOTONIC ns>", ...}`. */
export interface CandidateEvent {
  readonly event: string;
  /** CLOCK_MONOTONIC ns when the candidate printed it. */
  readonly t: bigint;
  /** CLOCK_MONOTONIC ns when the bench read it. */
  readonly seenAt: bigint;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface CandidateCommand {
  readonly cmd: string;
  readonly args: readonly string[];
  /** Writes a command to the candidate's stdin, in the candidate's own syntax. */
  readonly encode: (command: 'leave' | 'ping') => string;
}

/**
 * One election candidate in its own process (zk-ha, Curator or kazoo), spawned through
 * spawnTracked so it dies with the bench whatever happens. Collects its JSON event lines.
 */
export class Candidate extends EventEmitter<{ event: [CandidateEvent] }> {
  readonly events: CandidateEvent[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private gone = false;

  constructor(readonly system: string, readonly id: string, private readonly command: CandidateCommand) {
    super();
    this.child = spawnTracked(command.cmd, [...command.args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.on('error', (e) => this.stderr.push(`spawn error: ${String(e)}`));
    this.child.stdin!.on('error', () => undefined); // writing to a killed candidate is fine
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > 200) this.stderr.shift();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => { this.gone = true; resolve(); });
      this.child.once('error', () => { this.gone = true; resolve(); });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }
  get alive(): boolean {
    return !this.gone;
  }

  /** What the candidate itself believes right now, from its own elected/demoted lines. */
  get leading(): boolean {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!.event;
      if (e === 'elected') return true;
      if (e === 'demoted') return false;
    }
    return false;
  }

  get ready(): boolean {
    return this.events.some((e) => e.event === 'ready' || e.event === 'registered');
  }

  send(command: 'leave' | 'ping'): void {
    if (this.gone) return;
    this.child.stdin!.write(`${this.command.encode(command)}\n`);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.gone || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, sig);
    } catch {
      /* already gone */
    }
  }

  async kill(): Promise<void> {
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.exited;
  }

  /** Resolves with the first event (already seen or future) matching `match`; rejects after timeoutMs. */
  waitFor(match: (e: CandidateEvent) => boolean, timeoutMs: number, what = 'event'): Promise<CandidateEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onEvent = (e: CandidateEvent): void => {
        if (!match(e)) return;
        clearTimeout(timer);
        this.off('event', onEvent);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.off('event', onEvent);
        reject(new Error(`${this.system} candidate ${this.id} (pid ${this.pid}): no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-5).join(' | ')}`));
      }, timeoutMs);
      this.on('event', onEvent);
    });
  }

  private onLine(line: string): void {
    const seenAt = nowNs();
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.stderr.push(`stdout: ${line}`);
      return;
    }
    if (!parsed || typeof parsed !== 'object') return;
    const { event, t, ...fields } = parsed as Record<string, unknown>;
    if (typeof event !== 'string' || (typeof t !== 'string' && typeof t !== 'number')) return;
    const e: CandidateEvent = { event, t: BigInt(t), seenAt, fields };
    this.events.push(e);
    this.emit('event', e);
  }
}

/**
 * Proves that the candidate's timestamps are on the bench's clock: a ping's reply must be stamped
 * between the bench's send and its receipt. Returns the round trip in ms.
 */
export async function checkClock(candidate: Candidate): Promise<number> {
  const before = nowNs();
  candidate.send('ping');
  const pong = await candidate.waitFor((e) => (e.event === 'pong' || e.event === 'stats') && e.seenAt >= before, 10000, 'pong');
  if (pong.t < before || pong.t > pong.seenAt) {
    throw new Error(`${candidate.system}: clock mismatch — pong stamped ${pong.t}, sent at ${before}, received at ${pong.seenAt} (not CLOCK_MONOTONIC?)`);
  }
  return msBetween(before, pong.seenAt);
}
