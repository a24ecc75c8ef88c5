import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterBase } from './cluster-base';
import { HarnessError } from './errors';
import { freePorts } from './free-port';
import { releaseTempDir, spawnTracked, trackTempDir } from './processes';
import type { ZkNodeInfo } from './types';
import type { ZooKeeperInstall } from './zookeeper-install';

export interface LocalClusterConfig {
  readonly nodes: number;
  readonly tickTime: number;
  readonly minSessionTimeout: number;
  readonly maxSessionTimeout: number;
  /** Extra JVM system properties, e.g. { 'zookeeper.enforceQuota': 'true' }. */
  readonly systemProperties?: Readonly<Record<string, string>>;
  /** Extra JVM flags after the harness's own (a later -XX flag wins). */
  readonly jvmFlags?: readonly string[];
  readonly log?: (line: string) => void;
}

interface NodeSpec extends ZkNodeInfo {
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly dir: string;
}

interface RunningNode {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  paused: boolean;
}

const HOST = '127.0.0.1';
const STOP_GRACE_MS = 10000;

// Small heap, serial GC and C1 only: a JVM that starts in ~0.5 s and leaves the 2 cores to the test.
const JVM_FLAGS = [
  '-Xmx256m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:-UsePerfData', // no /tmp/hsperfdata_* files left behind by SIGKILL
  '-Djava.net.preferIPv4Stack=true',
  '-Dzookeeper.admin.enableServer=false',
  '-Dzookeeper.jmx.log4j.disable=true',
];

/** ZooKeeper JVMs on loopback, one temp dir per cluster, a sub dir (cfg, data, logs) per node. */
export class LocalCluster extends ClusterBase {
  startupMs = 0;
  protected readonly unsupportedReason = undefined;
  private readonly specs: readonly NodeSpec[];
  private readonly running = new Map<number, RunningNode>();
  private readonly rootDir: string;
  private readonly install: ZooKeeperInstall;
  private closing: Promise<void> | undefined;

  private readonly systemProperties: Readonly<Record<string, string>>;
  private readonly jvmFlags: readonly string[];

  private constructor(
    specs: NodeSpec[], rootDir: string, install: ZooKeeperInstall, log?: (line: string) => void,
    systemProperties: Readonly<Record<string, string>> = {}, jvmFlags: readonly string[] = [],
  ) {
    super(
      specs.map(({ id, host, clientPort, connectString }) => ({ id, host, clientPort, connectString })),
      log,
    );
    this.specs = specs;
    this.rootDir = rootDir;
    this.install = install;
    this.systemProperties = systemProperties;
    this.jvmFlags = jvmFlags;
  }

  static async start(config: LocalClusterConfig, install: ZooKeeperInstall): Promise<LocalCluster> {
    const began = Date.now();
    const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-ha-zk-'));
    trackTempDir(rootDir);
    const ports = await freePorts(config.nodes * 3);
    const specs: NodeSpec[] = [];
    for (let i = 0; i < config.nodes; i++) {
      const id = i + 1;
      const clientPort = ports[i * 3]!;
      specs.push({
        id,
        host: HOST,
        clientPort,
        connectString: `${HOST}:${clientPort}`,
        quorumPort: ports[i * 3 + 1]!,
        electionPort: ports[i * 3 + 2]!,
        dir: path.join(rootDir, `node${id}`),
      });
    }
    const cluster = new LocalCluster(specs, rootDir, install, config.log, config.systemProperties, config.jvmFlags);
    try {
      for (const spec of specs) cluster.writeNodeFiles(spec, specs, config);
      for (const spec of specs) cluster.spawnNode(spec.id);
      await cluster.waitNodesReady(() => cluster.activeIds(), 30000 + 10000 * config.nodes, () => cluster.failIfAnyExited());
    } catch (err) {
      await cluster.close();
      throw err;
    }
    cluster.startupMs = Date.now() - began;
    cluster.log(`ZooKeeper ${config.nodes === 1 ? 'standalone' : `${config.nodes}-node ensemble`} ready at ${cluster.connectString} in ${cluster.startupMs} ms (${rootDir})`);
    return cluster;
  }

  /** Where a node's config, data and logs live (zookeeper.log, stdout.log). */
  nodeDir(id: number): string {
    return this.spec(id).dir;
  }

  override pid(id: number): number | undefined {
    this.spec(id);
    return this.running.get(id)?.child.pid;
  }

  override isRunning(id: number): boolean {
    this.spec(id);
    return this.running.has(id);
  }

  override async stop(id: number): Promise<void> {
    const node = this.running.get(this.spec(id).id);
    if (!node) return;
    this.log(`stopping node ${id} (SIGTERM)`);
    signal(node.child, 'SIGTERM');
    if (node.paused) signal(node.child, 'SIGCONT'); // a stopped JVM cannot act on SIGTERM
    const timer = setTimeout(() => signal(node.child, 'SIGKILL'), STOP_GRACE_MS);
    await node.exited;
    clearTimeout(timer);
  }

  override async kill(id: number): Promise<void> {
    const node = this.running.get(this.spec(id).id);
    if (!node) return;
    this.log(`killing node ${id} (SIGKILL)`);
    signal(node.child, 'SIGKILL');
    await node.exited;
  }

  override pause(id: number): void {
    const node = this.runningNode(id, 'pause');
    this.log(`pausing node ${id} (SIGSTOP)`);
    signal(node.child, 'SIGSTOP');
    node.paused = true;
  }

  override resume(id: number): void {
    const node = this.runningNode(id, 'resume');
    this.log(`resuming node ${id} (SIGCONT)`);
    signal(node.child, 'SIGCONT');
    node.paused = false;
  }

  override async restart(id: number, timeoutMs = 30000): Promise<void> {
    this.spec(id);
    if (this.running.has(id)) await this.stop(id);
    this.spawnNode(id);
    await this.waitNodesReady(() => [id], timeoutMs, () => this.failIfExited(id));
    this.log(`node ${id} serving again`);
  }

  override async dropQuorum(): Promise<number[]> {
    const quorum = Math.floor(this.specs.length / 2) + 1;
    const up = [...this.running.keys()];
    const toKill = up.length - (quorum - 1);
    if (toKill <= 0) return [];
    const modes = await this.modes();
    // Followers (and nodes whose mode is unknown) first: the leader goes only when it must.
    const order = [...up].sort((a, b) => rank(modes.get(a)) - rank(modes.get(b)) || a - b);
    const victims = order.slice(0, toKill);
    for (const id of victims) await this.kill(id);
    this.log(`quorum dropped: killed ${victims.join(', ')}`);
    return victims;
  }

  override async regainQuorum(timeoutMs = 30000): Promise<void> {
    const down = this.specs.map((s) => s.id).filter((id) => !this.running.has(id));
    for (const id of down) this.spawnNode(id);
    await this.waitNodesReady(() => this.activeIds(), timeoutMs, () => this.failIfAnyExited());
    this.log(`quorum regained: restarted ${down.join(', ') || 'none'}`);
  }

  override close(): Promise<void> {
    this.closing ??= (async () => {
      const nodes = [...this.running.values()];
      for (const node of nodes) signal(node.child, 'SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      fs.rmSync(this.rootDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
      releaseTempDir(this.rootDir);
      this.log(`ZooKeeper at ${this.connectString} closed`);
    })();
    return this.closing;
  }

  protected override activeIds(): number[] {
    return [...this.running].filter(([, n]) => !n.paused).map(([id]) => id).sort((a, b) => a - b);
  }

  private spec(id: number): NodeSpec {
    this.node(id);
    return this.specs.find((s) => s.id === id)!;
  }

  private runningNode(id: number, op: string): RunningNode {
    const node = this.running.get(this.spec(id).id);
    if (!node) throw new HarnessError('UNKNOWN_NODE', `${op}(${id}): node ${id} is not running`);
    return node;
  }

  private writeNodeFiles(spec: NodeSpec, all: readonly NodeSpec[], config: LocalClusterConfig): void {
    const dataDir = path.join(spec.dir, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    const ensemble = all.length > 1;
    const lines = [
      `tickTime=${config.tickTime}`,
      `dataDir=${dataDir}`,
      `clientPort=${spec.clientPort}`,
      `clientPortAddress=${HOST}`,
      `minSessionTimeout=${config.minSessionTimeout}`,
      `maxSessionTimeout=${config.maxSessionTimeout}`,
      'initLimit=20',
      'syncLimit=10',
      '4lw.commands.whitelist=*',
      'admin.enableServer=false',
      'maxClientCnxns=0', // every test client comes from 127.0.0.1; the default cap is 60
      'forceSync=no', // SIGKILL does not lose the page cache; fsync per write only slows tests
      'preAllocSize=4096',
      'reconfigEnabled=false',
    ];
    if (!ensemble) lines.push('standaloneEnabled=true');
    if (ensemble) {
      lines.push('cnxTimeout=1000', 'electionPortBindRetry=10');
      for (const peer of all) lines.push(`server.${peer.id}=${HOST}:${peer.quorumPort}:${peer.electionPort}`);
      fs.writeFileSync(path.join(dataDir, 'myid'), `${spec.id}\n`);
    }
    fs.writeFileSync(path.join(spec.dir, 'zoo.cfg'), lines.join('\n') + '\n');
    if (this.install.logging === 'logback') {
      fs.writeFileSync(path.join(spec.dir, 'logback.xml'), logbackXml(path.join(spec.dir, 'zookeeper.log')));
    }
  }

  private spawnNode(id: number): void {
    const spec = this.spec(id);
    const logFile = path.join(spec.dir, 'zookeeper.log');
    const props = [
      `-Dorg.slf4j.simpleLogger.logFile=${logFile}`,
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
      `-Dlogback.configurationFile=${path.join(spec.dir, 'logback.xml')}`,
      `-Dzookeeper.log.dir=${spec.dir}`,
      ...Object.entries(this.systemProperties).map(([k, v]) => `-D${k}=${v}`),
    ];
    const out = fs.openSync(path.join(spec.dir, 'stdout.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawnTracked(
        this.install.java,
        [...JVM_FLAGS, ...this.jvmFlags, ...props, '-cp', this.install.classpath, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', path.join(spec.dir, 'zoo.cfg')],
        { stdio: ['ignore', out, out] },
      );
    } finally {
      fs.closeSync(out);
    }
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const node: RunningNode = { child, exited, paused: false };
    this.running.set(id, node);
    void exited.then(() => {
      if (this.running.get(id) === node) this.running.delete(id);
    });
    this.log(`node ${id} started (pid ${child.pid ?? '?'}, client port ${spec.clientPort})`);
  }

  private failIfAnyExited(): void {
    for (const spec of this.specs) this.failIfExited(spec.id);
  }

  private failIfExited(id: number): void {
    if (this.running.has(id)) return;
    const spec = this.spec(id);
    throw new HarnessError('START_FAILED', `ZooKeeper node ${id} exited during start; last log lines:\n${tail(path.join(spec.dir, 'zookeeper.log'))}\n${tail(path.join(spec.dir, 'stdout.log'))}`);
  }
}

function rank(mode: string | undefined): number {
  return mode === 'leader' ? 1 : 0;
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(child.pid, sig);
  } catch {
    /* already gone */
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path.basename(file)})`;
  }
}

function logbackXml(file: string): string {
  return `<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${file}</file>
    <encoder><pattern>%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
`;
}
