/**
 * HAProxy in front of a primary/backup group, kept in step by `zk-ha haproxy` (the CLI, as a
 * process): three HaServer processes, a real HAProxy, the bridge, a plain ws client with no
 * ZooKeeper access calling through HAProxy, and an HaClient calling directly — both under load on
 * the same fault. Used by integration/haproxy.test.ts (correctness) and bench/haproxy.ts (figures).
 */
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { HaClient } from '../../lib';
import { RpcConnection } from '../../lib/transport';
import { spawnTracked } from '../harness';
import { checkEpochs } from '../chaos/checker';
import { startHaproxy, type RunningHaproxy } from './haproxy';
import { runsOf, spawnServer, type Run } from './ha-fixtures';
import { eventually, sleep } from './wait';
import type { Worker } from './worker';

export type HaproxyFault = 'sigkill' | 'sigstop';

interface Done { readonly at: number; readonly ok: boolean; readonly epoch: number | undefined; readonly code?: string }

export interface HaproxyTrial {
  readonly fault: HaproxyFault;
  /** Fault → first call through HAProxy answered by the new primary. */
  readonly haproxyMs: number;
  /** Fault → first HaClient call answered by the new primary. */
  readonly haClientMs: number;
  /** Fault → the new primary's own "elected". */
  readonly electedMs: number | undefined;
  /** Calls through HAProxy that reached a member that was not the primary (refused NOT_PRIMARY, not executed). */
  readonly notPrimaryViaHaproxy: number;
  readonly failedViaHaproxy: number;
  readonly failedHaClient: number;
  readonly callsViaHaproxy: number;
  readonly callsHaClient: number;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export class HaproxyTestbed {
  readonly servers = new Map<string, Worker>();
  /** Every worker ever started (their execution logs outlive them). */
  readonly everyWorker: { id: string; w: Worker }[] = [];
  readonly bridgeLog: string[] = [];
  haproxy: RunningHaproxy | undefined;
  private bridge: ChildProcess | undefined;
  private bridgeExit: Promise<void> | undefined;
  private client: HaClient | undefined;
  private conn: RpcConnection | undefined;
  private viaHaproxy: Done[] = [];
  private viaHaClient: Done[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private next = 1;
  private seq = 0;
  readonly service = 'hx';

  constructor(private readonly connect: string, private readonly root: string, private readonly sessionTimeoutMs: number) {}

  async start(): Promise<void> {
    this.haproxy = await startHaproxy({ backend: 'hx', mode: 'primary-backup' });
    while (this.servers.size < 3) await this.spawn();
    const cli = path.join(__dirname, '..', '..', 'bin', 'zk-ha.ts');
    this.bridge = spawnTracked(process.execPath, ['-r', 'tsx/cjs', cli, '--connect', this.connect, '--root', this.root, '--json',
      'haproxy', this.service, '--socket', this.haproxy.socket, '--backend', 'hx', '--interval', '500'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.bridgeExit = new Promise((resolve) => this.bridge!.once('exit', () => resolve()));
    createInterface({ input: this.bridge.stdout! }).on('line', (l) => this.bridgeLog.push(l));
    createInterface({ input: this.bridge.stderr! }).on('line', (l) => this.bridgeLog.push(`stderr: ${l}`));
    await this.settled();
    this.conn = new RpcConnection({ url: this.haproxy.url, heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 10, maxMs: 100 }, connectTimeoutMs: 1000 });
    this.client = new HaClient({
      zk: { connect: this.connect, sessionTimeoutMs: 4000 }, service: this.service, root: this.root, deadlineMs: 3 * this.sessionTimeoutMs + 3000,
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 20, maxMs: 200 } },
    });
    await this.client.start();
  }

  /**
   * Waits until HAProxy's backend holds exactly the group and routes to one server only, the one
   * whose /primary check passes: the primary, active — or still a backup when a client reached it
   * before the bridge re-created it (it keeps its sessions; docs/haproxy.md) — the others backup.
   */
  async settled(timeoutMs = 30000): Promise<void> {
    let last = '';
    try {
      await eventually('the HAProxy backend matches the group', async () => {
        // A server in maintenance gets no traffic; one whose deletion HAProxy still refuses may linger there.
        const all = await this.haproxy!.api.servers('hx');
        last = JSON.stringify(all);
        const servers = all.filter((s) => s.name.startsWith('zkha-') && !s.status.startsWith('MAINT'));
        const active = servers.filter((s) => !s.backup);
        const up = servers.filter((s) => s.status.startsWith('UP'));
        if (servers.length !== this.servers.size || up.length !== 1 || active.length > 1) return false;
        // A backup serving as the primary is kept only while it has sessions; idle, it is re-created active.
        return active.length === 1 ? active[0] === up[0] : up[0]!.sessions > 0;
      }, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}; backend: ${last}; bridge: ${this.bridgeLog.slice(-5).join(' | ')}`);
    }
  }

  primary(): { id: string; w: Worker } | undefined {
    for (const [id, w] of this.servers) if (w.of('elected').length > w.of('demoted').length) return { id, w };
    return undefined;
  }

  async trial(fault: HaproxyFault): Promise<HaproxyTrial> {
    await eventually('a primary', () => this.primary() !== undefined, 30000);
    await this.settled();
    this.startLoad();
    await eventually('both clients get answers', () => this.viaHaproxy.some((d) => d.ok) && this.viaHaClient.some((d) => d.ok), 20000);
    await sleep(300);
    const old = this.primary()!;
    const oldEpoch = old.w.of('elected').at(-1)!.epoch as number;
    const fromA = this.viaHaproxy.length;
    const fromB = this.viaHaClient.length;
    const t0 = now();
    old.w.signal(fault === 'sigkill' ? 'SIGKILL' : 'SIGSTOP');
    const recovered = (ds: Done[], from: number): Done | undefined => ds.slice(from).find((d) => d.ok && d.epoch !== undefined && d.epoch > oldEpoch);
    await eventually('both clients are answered by the new primary', () => recovered(this.viaHaproxy, fromA) !== undefined && recovered(this.viaHaClient, fromB) !== undefined, 6 * this.sessionTimeoutMs + 20000);
    await sleep(200);
    await this.stopLoad();
    const a = this.viaHaproxy.slice(fromA);
    const b = this.viaHaClient.slice(fromB);
    if (fault === 'sigstop') old.w.signal('SIGCONT');
    await this.retire(old.id);
    const elected = [...this.servers.values()].flatMap((w) => w.of('elected')).map((e) => Number(BigInt(e.t as string)) / 1e6).filter((t) => t > t0);
    return {
      fault,
      haproxyMs: recovered(a, 0)!.at - t0,
      haClientMs: recovered(b, 0)!.at - t0,
      electedMs: elected.length ? Math.min(...elected) - t0 : undefined,
      notPrimaryViaHaproxy: a.filter((d) => d.code === 'NOT_PRIMARY').length,
      failedViaHaproxy: a.filter((d) => !d.ok).length,
      failedHaClient: b.filter((d) => !d.ok).length,
      callsViaHaproxy: a.length,
      callsHaClient: b.length,
    };
  }

  /** Handler runs of every worker ever started. */
  runs(): Run[] {
    return this.everyWorker.flatMap(({ id, w }) => runsOf(w, id));
  }

  async stop(): Promise<void> {
    await this.stopLoad();
    await this.conn?.close().catch(() => undefined);
    await this.client?.close().catch(() => undefined);
    if (this.bridge && this.bridge.exitCode === null) {
      this.bridge.kill('SIGTERM');
      await Promise.race([this.bridgeExit, sleep(3000)]);
      this.bridge.kill('SIGKILL');
    }
    await Promise.all(this.everyWorker.map(({ w }) => w.kill()));
    await this.haproxy?.stop();
  }

  private async spawn(): Promise<void> {
    const id = `h${this.next++}`;
    const w = spawnServer({ connect: this.connect, root: this.root, service: this.service, id, sessionTimeoutMs: this.sessionTimeoutMs });
    this.servers.set(id, w);
    this.everyWorker.push({ id, w });
    await w.waitFor('started', 1, 30000);
  }

  /** Replaces the faulted server: gracefully if it still runs (thawed), so no node of it lingers. */
  private async retire(id: string): Promise<void> {
    const w = this.servers.get(id)!;
    this.servers.delete(id);
    await w.shutdown();
    await this.spawn();
  }

  private startLoad(): void {
    this.running = true;
    const conn = this.conn!;
    const client = this.client!;
    // The plain client: one call at a time; on NOT_PRIMARY it reconnects so HAProxy routes it anew.
    this.loops.push((async () => {
      while (this.running) {
        const callId = `x${this.seq++}`;
        try {
          if (conn.state !== 'up') await conn.connect();
          const r = await conn.call<{ id: string }>('incr', { callId }, { timeoutMs: 1000 });
          this.viaHaproxy.push({ at: now(), ok: true, epoch: r.epoch });
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'UNKNOWN';
          this.viaHaproxy.push({ at: now(), ok: false, epoch: undefined, code });
          await sleep(10);
        }
        await sleep(2);
      }
    })());
    this.loops.push((async () => {
      while (this.running) {
        const callId = `c${this.seq++}`;
        try {
          const r = await client.callWithInfo('incr', { callId });
          this.viaHaClient.push({ at: now(), ok: true, epoch: r.epoch });
        } catch (error) {
          this.viaHaClient.push({ at: now(), ok: false, epoch: undefined, code: (error as { code?: string }).code ?? 'UNKNOWN' });
        }
        await sleep(2);
      }
    })());
  }

  private async stopLoad(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops.splice(0));
  }
}

/**
 * Checks execution logs: every handler run carried an epoch (only a lease-holding primary runs
 * handlers), one worker per epoch, epochs never overlap in time (the chaos suite's epoch check),
 * no call id ran twice. Returns the violations (empty = fine).
 */
export function checkRuns(runs: readonly Run[]): string[] {
  const problems = checkEpochs(runs.map((r) => ({ server: r.worker, callId: r.callId ?? r.method, epoch: r.epoch, t0: r.t0, t1: r.t1 }))).map((v) => v.message);
  const seen = new Set<string>();
  for (const r of runs) {
    if (r.callId === undefined) continue;
    if (seen.has(r.callId)) problems.push(`call ${r.callId} ran twice`);
    seen.add(r.callId);
  }
  return problems;
}
