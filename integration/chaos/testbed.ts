import { randomUUID } from 'crypto';
import { HaClient } from '../../lib';
import type { ReplicationOptions } from '../../lib';
import { ZkSession, servicePaths } from '../../lib/blocks';
import { InSyncSet } from '../../lib/coordination/in-sync-set';
import type { MemberState } from './durability';
import { TcpProxy, freePort, type ZkCluster } from '../harness';
import type { Worker } from '../support/worker';
import { spawnServer } from '../support/ha-fixtures';
import type { ServerSpec } from '../support/ha-fixtures';
import { eventually, sleep, uniqueRoot } from '../support/wait';
import type { ClientCall, Recovery, ServerRun } from './history';

export interface TestbedOptions {
  /** Servers' ZooKeeper session timeout. */
  readonly sessionTimeoutMs: number;
  /** Clients' ZooKeeper session timeout. */
  readonly clientSessionTimeoutMs: number;
  readonly servers: number;
  readonly clients: number;
  /** Calls in flight per client. */
  readonly concurrency: number;
  readonly log?: (line: string) => void;
  /**
   * Replicated state: each `op` replicates its callId; every call is non-idempotent (a unique
   * write that must be applied exactly once), and the members' states are checked at the end.
   */
  readonly replicated?: boolean;
  /** Replication options of every server (replicated mode). */
  readonly replication?: ReplicationOptions;
}

/**
 * One member of the group under test: a worker process that reaches ZooKeeper through one
 * TcpProxy per ensemble node and is reached by clients through another TcpProxy, so that either
 * side can be cut off alone. A restart keeps the id, the port and the proxies.
 */
export class ChaosServer {
  worker!: Worker;
  /** Every process this member has had (the history needs the runs of dead ones too). */
  readonly incarnations: Worker[] = [];
  private constructor(
    readonly id: string,
    public port: number,
    readonly clientProxy: TcpProxy,
    readonly zkProxies: readonly TcpProxy[],
    private readonly config: ServerSpec,
  ) {}

  static async create(id: string, zk: ZkCluster, common: { root: string; service: string; sessionTimeoutMs: number; replicated?: boolean; replication?: ReplicationOptions }): Promise<ChaosServer> {
    const port = await freePort();
    const clientProxy = await TcpProxy.start({ host: '127.0.0.1', port });
    const zkProxies = await Promise.all(zk.nodes.map((n) => TcpProxy.start({ host: '127.0.0.1', port: n.clientPort })));
    const config: ServerSpec = {
      ...common, id, port,
      connect: zkProxies.map((p) => p.address).join(','),
      advertiseUrl: `ws://${clientProxy.address}`,
      graceMs: 500, closeGraceMs: 200, journal: false,
      ...(common.replicated ? { replication: { ackTimeoutMs: 500, ...common.replication } } : {}),
    };
    return new ChaosServer(id, port, clientProxy, zkProxies, config);
  }

  /**
   * Spawns a (new) process; resolves when it has registered. A restart keeps the port unless some
   * other process took it while this one was down (ephemeral ports are shared with every outgoing
   * connection on the machine): then it moves to a new port and the client-side proxy follows.
   */
  async spawn(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.worker = spawnServer({ ...this.config, port: this.port });
      this.incarnations.push(this.worker);
      try {
        await this.worker.waitFor('started', 1, 30000, undefined, () => this.worker.of('error').length > 0);
        return;
      } catch (error) {
        const last = this.worker.events.slice(-3).map((e) => JSON.stringify(e)).join(' ');
        if (attempt < 5 && last.includes('EADDRINUSE')) {
          await this.worker.kill();
          this.port = await freePort();
          this.clientProxy.retarget(this.port);
          continue;
        }
        // The worker reports a failed start on stdout: name it, and what it did last.
        throw new Error(`${(error as Error).message}; worker ${this.id} last events: ${last}`);
      }
    }
  }

  get label(): string {
    return `${this.id}#${this.worker.pid}`;
  }

  /** The replica key of the current process (replicated mode). */
  get key(): string | undefined {
    return this.worker.of('started')[0]?.key as string | undefined;
  }

  /** The current process's copy of the replicated state. */
  async dump(): Promise<{ ids: string[]; key: string; ready: boolean }> {
    const tag = randomUUID();
    this.worker.send({ cmd: 'dump', tag });
    const e = await this.worker.waitFor('dump', 1, 10000, (x) => x.tag === tag);
    return e as unknown as { ids: string[]; key: string; ready: boolean };
  }

  /** Elected and not demoted since, in a live process. */
  get isPrimary(): boolean {
    if (!this.worker.alive) return false;
    const last = this.worker.events.filter((e) => e.event === 'elected' || e.event === 'demoted').at(-1);
    return last?.event === 'elected';
  }

  /** Every run of every incarnation, after their logs were read to the end. */
  async runs(): Promise<ServerRun[]> {
    const out: ServerRun[] = [];
    for (const w of this.incarnations) {
      await drain(w);
      for (const e of w.of('run')) {
        out.push({ server: `${this.id}#${w.pid}`, callId: String(e.callId), epoch: e.epoch as number | undefined, t0: BigInt(e.t0 as string), t1: BigInt(e.t1 as string) });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.incarnations.map((w) => w.kill()));
    await Promise.all([this.clientProxy.close(), ...this.zkProxies.map((p) => p.close())]);
  }
}

let pings = 0;
/** Lines on one pipe stay in order: a live worker's pong, or a dead one's closed stdout, means every run line was read. */
async function drain(w: Worker): Promise<void> {
  if (w.alive) {
    const n = ++pings;
    w.send({ cmd: 'ping', n });
    try {
      await w.waitFor('pong', 1, 10000, (e) => e.n === n);
      return;
    } catch {
      if (w.alive) throw new Error(`worker ${w.pid} did not answer a ping: its runs cannot be trusted complete`);
    }
  }
  await eventually(`worker ${w.pid} stdout closed`, () => w.child.stdout!.readableEnded || w.child.stdout!.destroyed, 10000);
}

/** A client of the group, reaching ZooKeeper through its own proxies, that records every call. */
export class ChaosClient {
  readonly calls: ClientCall[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private seq = 0;
  /** Replicated mode: every call is a non-idempotent unique write. */
  idempotentShare = 0.5;
  private constructor(readonly name: string, readonly client: HaClient, readonly zkProxies: readonly TcpProxy[]) {}

  static async create(name: string, zk: ZkCluster, root: string, service: string, opts: TestbedOptions): Promise<ChaosClient> {
    const zkProxies = await Promise.all(zk.nodes.map((n) => TcpProxy.start({ host: '127.0.0.1', port: n.clientPort })));
    const client = new HaClient({
      zk: { connect: zkProxies.map((p) => p.address).join(','), sessionTimeoutMs: opts.clientSessionTimeoutMs },
      service, root, mode: 'primary-backup', deadlineMs: 4 * opts.sessionTimeoutMs,
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, connectTimeoutMs: 2000, reconnect: { initialMs: 20, maxMs: 200 } },
    });
    await client.start();
    return new ChaosClient(name, client, zkProxies);
  }

  /** One call, recorded. Even-numbered calls are idempotent, odd ones are not. */
  async call(idempotent = this.idempotentShare > 0 && this.seq % 2 === 0): Promise<ClientCall> {
    const callId = `${this.name}-${this.seq++}`;
    const start = process.hrtime.bigint();
    let record: ClientCall;
    try {
      const r = await this.client.callWithInfo('op', { callId }, { idempotent });
      record = { client: this.name, callId, idempotent, start, end: process.hrtime.bigint(), outcome: 'ok', epoch: r.epoch, attempts: r.attempts, member: r.member };
    } catch (e) {
      const err = e as { code?: string; notExecuted?: boolean };
      record = { client: this.name, callId, idempotent, start, end: process.hrtime.bigint(), outcome: 'error', code: err.code ?? 'UNKNOWN', notExecuted: err.notExecuted };
    }
    this.calls.push(record);
    return record;
  }

  startLoad(concurrency: number, pauseMs = 2): void {
    this.running = true;
    for (let i = 0; i < concurrency; i++) {
      this.loops.push((async () => {
        while (this.running) {
          await this.call();
          await sleep(pauseMs);
        }
      })());
    }
  }

  async stopLoad(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops.splice(0));
  }

  async close(): Promise<void> {
    await this.stopLoad();
    await this.client.close();
    await Promise.all(this.zkProxies.map((p) => p.close()));
  }
}

/** One trial's world: a fresh service root, its servers and clients, on a shared ensemble. */
export class Testbed {
  readonly servers: ChaosServer[] = [];
  readonly clients: ChaosClient[] = [];
  readonly root = uniqueRoot('chaos');
  readonly service = 'svc';
  private observer: ZkSession | undefined;
  healedAt: bigint | undefined;
  readonly marks: { what: string; at: bigint }[] = [];

  constructor(readonly zk: ZkCluster, readonly options: TestbedOptions) {}

  get sessionTimeoutMs(): number {
    return this.options.sessionTimeoutMs;
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  async start(): Promise<void> {
    const common = { root: this.root, service: this.service, sessionTimeoutMs: this.options.sessionTimeoutMs, replicated: this.options.replicated, replication: this.options.replication };
    for (let i = 0; i < this.options.servers; i++) this.servers.push(await ChaosServer.create(`s${i + 1}`, this.zk, common));
    await Promise.all(this.servers.map((s) => s.spawn()));
    await this.waitForPrimary();
    for (let i = 0; i < this.options.clients; i++) this.clients.push(await ChaosClient.create(`c${i + 1}`, this.zk, this.root, this.service, this.options));
    if (this.options.replicated) for (const c of this.clients) c.idempotentShare = 0;
    this.observer = new ZkSession({ connect: this.zk.connectString, sessionTimeoutMs: 10000, requestTimeoutMs: 1000, leaseProbe: 'read' });
    await this.observer.start();
  }

  /**
   * Replicated mode, under load: until every member is in the in-sync set (backups join once they
   * have acknowledged writes), so that the fault hits a healthy group.
   */
  async allInSync(timeoutMs = 20000): Promise<void> {
    if (!this.options.replicated) return;
    await eventually('every member in the in-sync set', async () => {
      const isr = await this.inSyncKeys();
      return this.servers.every((s) => isr.includes(s.key ?? '?'));
    }, timeoutMs);
  }

  startLoad(): void {
    for (const c of this.clients) c.startLoad(this.options.concurrency);
  }

  async stopLoad(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.stopLoad()));
  }

  primary(): ChaosServer | undefined {
    return this.servers.find((s) => s.isPrimary);
  }

  async waitForPrimary(other?: ChaosServer, timeoutMs = 20000): Promise<ChaosServer> {
    await eventually(other ? `a primary other than ${other.id}` : 'a primary', () => this.servers.some((s) => s !== other && s.isPrimary), timeoutMs);
    return this.servers.find((s) => s !== other && s.isPrimary)!;
  }

  backups(): ChaosServer[] {
    return this.servers.filter((s) => s.worker.alive && !s.isPrimary);
  }

  /** The heal action is done: rejoin time counts from here. */
  healed(): void {
    this.healedAt = process.hrtime.bigint();
    this.mark('healed');
  }

  /** Notes when a fault action happened, on the history's clock. */
  mark(what: string): void {
    this.marks.push({ what, at: process.hrtime.bigint() });
  }

  /** The observer's session (ZooKeeper admin actions of a scenario: deleting nodes, planting bad ones). */
  get admin(): ZkSession {
    if (!this.observer) throw new Error('testbed not started');
    return this.observer;
  }

  /** The member node (path) of a server, by its member id. */
  async memberNodeOf(server: ChaosServer): Promise<string> {
    const members = servicePaths(this.service, this.root).members;
    const { children } = await this.admin.children(members);
    for (const name of children) {
      try {
        const { data } = await this.admin.get(`${members}/${name}`);
        if ((JSON.parse(data.toString('utf8')) as { id?: unknown }).id === server.id) return `${members}/${name}`;
      } catch {
        // gone or not a record
      }
    }
    throw new Error(`no member node of ${server.id}`);
  }

  /** Member ids currently registered, one per node. */
  async memberIds(): Promise<string[]> {
    const members = servicePaths(this.service, this.root).members;
    const { children } = await this.observer!.children(members);
    const ids: string[] = [];
    for (const name of children) {
      try {
        const { data } = await this.observer!.get(`${members}/${name}`);
        ids.push(String((JSON.parse(data.toString('utf8')) as { id?: unknown }).id));
      } catch {
        ids.push(`?${name}`); // gone between the two reads: the next poll settles it
      }
    }
    return ids.sort();
  }

  /** After the heal: until every member is back once, a live primary serves and each client's call succeeds. */
  async recover(timeoutMs = 30000): Promise<Recovery> {
    const healedAt = this.healedAt ?? process.hrtime.bigint();
    const expected = this.servers.map((s) => s.id).sort();
    let rejoinedAt: bigint | undefined;
    let membersAfter: string[] = [];
    let probesOk = false;
    try {
      await eventually('the group whole again', async () => {
        membersAfter = await this.memberIds();
        if (membersAfter.join() !== expected.join() || this.servers.filter((s) => s.isPrimary).length !== 1) return false;
        rejoinedAt ??= process.hrtime.bigint();
        return true;
      }, timeoutMs);
      const probes = await Promise.all(this.clients.map((c) => c.call(false)));
      probesOk = probes.every((p) => p.outcome === 'ok');
    } catch (error) {
      this.log(`recovery: ${(error as Error).message}; members ${membersAfter.join(',')}`);
    }
    return { healedAt, rejoinedAt, expectedMembers: expected, membersAfter, probesOk };
  }

  /** The in-sync set's members (replicated mode). */
  async inSyncKeys(): Promise<readonly string[]> {
    const set = new InSyncSet(this.observer!, servicePaths(this.service, this.root), { mayWrite: () => false });
    return (await set.read())?.record.members ?? [];
  }

  /**
   * Every live member's copy of the replicated state, once the in-sync members have applied what
   * the primary has (a backup applies up to the commit index it has heard of, a moment later).
   */
  async states(timeoutMs = 10000): Promise<MemberState[]> {
    let states: MemberState[] = [];
    const read = async (): Promise<MemberState[]> => {
      const isr = await this.inSyncKeys();
      const live = this.servers.filter((s) => s.worker.alive);
      return Promise.all(live.map(async (s) => {
        const d = await s.dump();
        return { server: s.label, key: d.key, inSync: isr.includes(d.key), primary: s.isPrimary && d.ready, ids: d.ids };
      }));
    };
    try {
      await eventually('in-sync members applied what the primary has', async () => {
        states = await read();
        const p = states.find((s) => s.primary);
        return p !== undefined && states.every((s) => !s.inSync || s.ids.length === p.ids.length);
      }, timeoutMs);
    } catch (error) {
      this.log(`states: ${(error as Error).message}`);
    }
    return states;
  }

  /** What each server process last reported (roles, elections, faults): for a trial that could not run. */
  story(last = 6): string {
    const said = new Set(['elected', 'demoted', 'role', 'fault', 'session-lost', 'session-new', 'error']);
    return this.servers.flatMap((s) => s.incarnations.map((w) => {
      const events = w.events.filter((e) => said.has(e.event)).slice(-last).map((e) => JSON.stringify(e).slice(0, 300));
      return `${s.id}#${w.pid}${w.alive ? '' : ' (exited)'}: ${events.join(' ') || 'nothing'}`;
    })).join('\n    ');
  }

  async runs(): Promise<ServerRun[]> {
    return (await Promise.all(this.servers.map((s) => s.runs()))).flat();
  }

  calls(): ClientCall[] {
    return this.clients.flatMap((c) => c.calls);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(this.servers.map((s) => s.close().catch(() => undefined)));
    await this.observer?.close();
  }
}
