import type { ZkCluster } from '../../integration/harness';
import type { CallLoad } from './call-load';
import type { ServerProcess } from './server-process';
import { table } from './summary';
import type { ZkModes } from './zk-modes';

export interface ScreenSource {
  readonly title: string;
  readonly phase: string;
  readonly zk: ZkCluster | undefined;
  readonly zkModes: ZkModes | undefined;
  readonly servers: readonly ServerProcess[];
  readonly load: CallLoad | undefined;
  /** Primary/backup: the primary the client routes to, and the highest epoch it has seen. */
  readonly primary: { id: string | undefined; epoch: number } | undefined;
  readonly results: readonly string[];
  /** Members the client has ejected (passive health) right now. */
  readonly ejected: ReadonlySet<string>;
}

const CLEAR = '\x1b[H\x1b[2J';
const EVENT_LINES = 12;

/**
 * The live view. On a terminal it redraws one screen about 4 times a second; otherwise (CI, a
 * pipe, the README capture) it prints each event as a line and a one-line status every second.
 */
export class Screen {
  private readonly events: string[] = [];
  private readonly t0 = performance.now();
  private samples: { at: number; calls: number; byMember: Map<string, number> }[] = [];
  private ticks = 0;

  constructor(private tty: boolean, private readonly source: () => ScreenSource) {}

  get elapsedS(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** A timestamped event: a fault injected, a role change, a fault report. */
  event(line: string): void {
    const stamped = `+${this.elapsedS.toFixed(1).padStart(5)}s  ${line}`;
    if (this.tty) {
      this.events.push(stamped);
      if (this.events.length > EVENT_LINES) this.events.shift();
    } else {
      process.stdout.write(`${stamped}\n`);
    }
  }

  /** Draws a last frame, then prints further events as lines (shutdown, summary). */
  detach(): void {
    if (this.tty) this.tick();
    this.tty = false;
  }

  /** Called every 250 ms. */
  tick(): void {
    const s = this.source();
    this.sample(s.load);
    this.ticks++;
    if (this.tty) process.stdout.write(CLEAR + this.frame(s).join('\n') + '\n');
    else if (this.ticks % 4 === 0) process.stdout.write(`${this.statusLine(s)}\n`);
  }

  private sample(load: CallLoad | undefined): void {
    if (!load) return;
    const at = performance.now();
    this.samples.push({ at, calls: load.ok, byMember: new Map(load.okByMember) });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= 1000) this.samples.shift();
  }

  /** Successful calls per second over the last second, in all and per member. */
  private rates(): { total: number; byMember: Map<string, number> } {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const byMember = new Map<string, number>();
    if (!first || !last || last.at - first.at < 200) return { total: 0, byMember };
    const seconds = (last.at - first.at) / 1000;
    for (const [m, n] of last.byMember) byMember.set(m, Math.round((n - (first.byMember.get(m) ?? 0)) / seconds));
    return { total: Math.round((last.calls - first.calls) / seconds), byMember };
  }

  private errors(load: CallLoad | undefined): string {
    if (!load || load.errorsByCode.size === 0) return 'none';
    return [...load.errorsByCode].map(([code, n]) => `${code} ${n}`).join(', ');
  }

  private zkLine(s: ScreenSource): string {
    if (!s.zk) return 'starting';
    return s.zk.nodes.map((n) => `${n.id}:${s.zkModes?.modes.get(n.id) ?? '?'}`).join(' ');
  }

  private statusLine(s: ScreenSource): string {
    const r = this.rates();
    const servers = s.servers.map((p) => `${p.id}:${p.state === 'alive' || p.state === 'starting' ? p.role : p.state}${s.ejected.has(p.id) ? '(ejected)' : ''}`).join(' ');
    const primary = s.primary ? `primary ${s.primary.id ?? '(none)'} epoch ${s.primary.epoch} | ` : '';
    const members = s.primary || r.byMember.size === 0 ? '' : ` (${[...r.byMember].sort().map(([m, n]) => `${m} ${n}`).join(', ')})`;
    return `+${this.elapsedS.toFixed(1).padStart(5)}s  [${s.phase}] ${primary}${r.total} calls/s${members} | errors: ${this.errors(s.load)} | servers ${servers} | zk ${this.zkLine(s)}`;
  }

  private frame(s: ScreenSource): string[] {
    const r = this.rates();
    const out = [`${s.title}   t=${this.elapsedS.toFixed(1)}s`, `step: ${s.phase}`, ''];
    if (s.primary) out.push(`primary: ${s.primary.id ?? '(none)'}   epoch: ${s.primary.epoch}`);
    const load = s.load;
    out.push(`client: ${r.total} calls/s   ok ${load?.ok ?? 0} of ${load?.calls ?? 0}   errors: ${this.errors(load)}`, '');
    out.push(...table(['server', 'pid', 'process', 'role', 'client view', 'calls/s', 'starts'], s.servers.map((p) => [
      p.id, String(p.pid ?? '-'), p.state, p.state === 'paused' ? `(frozen as ${p.role})` : p.running ? `${p.role}${p.epoch === undefined ? '' : ` (epoch ${p.epoch})`}` : '-',
      s.ejected.has(p.id) ? 'ejected' : '', String(r.byMember.get(p.id) ?? 0), String(p.starts),
    ])));
    out.push('');
    out.push(...table(['zookeeper', 'port', 'pid', 'mode'], (s.zk?.nodes ?? []).map((n) => [
      `node ${n.id}`, String(n.clientPort), String(s.zk?.pid(n.id) ?? '-'), s.zkModes?.modes.get(n.id) ?? '?',
    ])));
    if (s.results.length > 0) out.push('', ...s.results);
    out.push('', 'events:', ...this.events);
    return out;
  }
}
