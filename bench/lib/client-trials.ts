// Client-observed failover of zk-ha: three HaServer processes (integration/workers/ha-server-worker.ts)
// and an HaClient in the bench process under steady load. Unavailability = fault → the first call
// answered by the new primary (for ZooKeeper leader loss, where the primary normally stays: the
// longest gap between successful calls after the fault). Failed calls are counted, not hidden.
import { HaClient } from '../../lib';
import type { ZkCluster } from '../../integration/harness';
import { ProxyHost, type RemoteProxy } from './proxy-host';
import type { Worker } from '../../integration/support/worker';
import { spawnServer } from '../../integration/support/ha-fixtures';
import { sleep } from '../../integration/support/wait';
import type { Fault } from './election-trials';

/** Client-observed faults: the election faults plus a primary cut off from ZooKeeper (not from clients). */
export type ClientFault = Fault | 'partition';

export interface ClientTrial {
  readonly unavailableMs: number;
  readonly failedCalls: number;
  readonly failedIdempotent: number;
  readonly calls: number;
  readonly primaryChanged: boolean;
  /** Fault → the new primary's own "elected" (server side), to tell election time from routing time. */
  readonly electedMs: number | undefined;
}

interface Done { readonly at: number; readonly epoch: number | undefined; readonly ok: boolean; readonly idempotent: boolean }

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export class ClientGroup {
  private readonly servers = new Map<string, Worker>();
  /**
   * Each server reaches every ensemble node through its own proxy, so one server can be cut off
   * alone. The proxies run in a process of their own: on this process's event loop (the measured
   * client's) every ZooKeeper packet of every server would wait for the client's work.
   */
  private readonly proxies = new Map<string, RemoteProxy[]>();
  private proxyHost: ProxyHost | undefined;
  private client: HaClient | undefined;
  private next = 1;
  private done: Done[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly cluster: ZkCluster,
    private readonly root: string,
    private readonly sessionTimeoutMs: number,
    private readonly leaseMs = 500,
  ) {}

  async fill(): Promise<void> {
    while (this.servers.size < 3) await this.spawn();
    if (!this.client) {
      this.client = new HaClient({
        zk: { connect: this.cluster.connectString, sessionTimeoutMs: Math.max(4000, this.sessionTimeoutMs) },
        service: 'bench', root: this.root, deadlineMs: 3 * this.sessionTimeoutMs + 3000,
      });
      await this.client.start();
    }
    await this.waitFor(() => this.primary() !== undefined, 20000, 'a primary');
  }

  /** Runs one fault under load; returns what the client saw. */
  async trial(fault: ClientFault): Promise<ClientTrial> {
    await this.fill();
    this.startLoad();
    await sleep(300);
    const old = this.primary()!;
    const oldEpoch = old.w.of('elected').at(-1)!.epoch as number;
    const from = this.done.length;
    let t0 = now();
    let zkNode: number | undefined;
    switch (fault) {
      case 'handover': old.w.send({ cmd: 'stepDown' }); break;
      case 'sigkill': old.w.signal('SIGKILL'); break;
      case 'sigstop': old.w.signal('SIGSTOP'); break;
      case 'partition': await Promise.all((this.proxies.get(old.id) ?? []).map((p) => p.blackhole())); break;
      case 'zk-leader-loss': zkNode = await this.cluster.leader(); await this.cluster.kill(zkNode); break;
    }
    if (fault === 'handover') {
      // The handover starts when stepDown() is called in the server, not when the bench's command
      // was written to its stdin (that pipe alone takes 1-15 ms on a loaded machine).
      const stepping = await old.w.waitFor('stepping', 1, 5000); // each server steps down once (retired after its trial)
      t0 = Number(BigInt(stepping.t as string)) / 1e6;
    }
    let unavailableMs: number;
    let primaryChanged = false;
    if (fault === 'zk-leader-loss') {
      await sleep(2 * this.sessionTimeoutMs + 1000);
      const ok = this.done.slice(from).filter((d) => d.ok).map((d) => d.at);
      let gap = ok.length ? ok[0]! - t0 : Number.POSITIVE_INFINITY;
      for (let i = 1; i < ok.length; i++) gap = Math.max(gap, ok[i]! - ok[i - 1]!);
      unavailableMs = gap;
      primaryChanged = this.done.slice(from).some((d) => d.ok && d.epoch !== undefined && d.epoch > oldEpoch);
      await this.cluster.restart(zkNode!);
    } else {
      await this.waitFor(() => this.done.slice(from).some((d) => d.ok && d.epoch !== undefined && d.epoch > oldEpoch), 6 * this.sessionTimeoutMs + 10000, 'a call answered by the new primary');
      unavailableMs = this.done.slice(from).find((d) => d.ok && d.epoch !== undefined && d.epoch > oldEpoch)!.at - t0;
      primaryChanged = true;
      await sleep(200);
    }
    await this.stopLoad();
    if (fault === 'sigstop') old.w.signal('SIGCONT');
    if (fault === 'partition') await Promise.all((this.proxies.get(old.id) ?? []).map((p) => p.heal()));
    if (fault !== 'zk-leader-loss') await this.retire(old.id);
    const window = this.done.slice(from);
    const elected = [...this.servers.values()].flatMap((w) => w.of('elected')).map((e) => Number(BigInt(e.t as string)) / 1e6).filter((t) => t > t0);
    return {
      electedMs: elected.length ? Math.min(...elected) - t0 : undefined,
      unavailableMs,
      failedCalls: window.filter((d) => !d.ok).length,
      failedIdempotent: window.filter((d) => !d.ok && d.idempotent).length,
      calls: window.length,
      primaryChanged,
    };
  }

  async close(): Promise<void> {
    await this.stopLoad();
    await this.client?.close();
    await Promise.all([...this.servers.values()].map((w) => w.kill()));
    this.servers.clear();
    await Promise.all([...this.proxies.values()].flat().map((p) => p.close()));
    this.proxies.clear();
    await this.proxyHost?.close();
    this.proxyHost = undefined;
  }

  private primary(): { id: string; w: Worker } | undefined {
    for (const [id, w] of this.servers) if (w.of('elected').length > w.of('demoted').length) return { id, w };
    return undefined;
  }

  private async spawn(): Promise<void> {
    const id = `b${this.next++}`;
    this.proxyHost ??= new ProxyHost();
    const host = this.proxyHost;
    const proxies = await Promise.all(this.cluster.nodes.map((n) => host.start({ host: '127.0.0.1', port: n.clientPort })));
    this.proxies.set(id, proxies);
    const w = spawnServer({ connect: proxies.map((p) => p.address).join(','), leaseMs: this.leaseMs, root: this.root, service: 'bench', id, sessionTimeoutMs: this.sessionTimeoutMs, logRuns: false });
    this.servers.set(id, w);
    await w.waitFor('started', 1, 30000);
  }

  /**
   * Replaces a server after its trial. Gracefully (leave the group, then exit): a SIGKILLed one
   * would leave its node — it rejoined at the back after the handover or the SIGCONT — to linger
   * for a whole session timeout and stall a later election, which no real deployment does.
   */
  private async retire(id: string): Promise<void> {
    const w = this.servers.get(id);
    this.servers.delete(id);
    await w?.shutdown();
    for (const p of this.proxies.get(id) ?? []) await p.close();
    this.proxies.delete(id);
    await this.fill();
  }

  /** Two loops of idempotent reads and two of non-idempotent increments. */
  private startLoad(): void {
    this.running = true;
    const client = this.client!;
    const loop = async (idempotent: boolean): Promise<void> => {
      while (this.running) {
        try {
          const r = await client.callWithInfo(idempotent ? 'whoami' : 'incr', {}, { idempotent });
          this.done.push({ at: now(), epoch: r.epoch, ok: true, idempotent });
        } catch {
          this.done.push({ at: now(), epoch: undefined, ok: false, idempotent });
        }
        await sleep(1);
      }
    };
    this.loops = [loop(true), loop(true), loop(false), loop(false)];
  }

  private async stopLoad(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const until = now() + timeoutMs;
    while (!check()) {
      if (now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(2);
    }
  }
}
