import { ClusterBase } from './cluster-base';
import { HarnessError } from './errors';
import type { LocalClusterConfig } from './local-cluster';

/** The few testcontainers 11 calls used here; the package is optional and loaded at run time. */
interface StartedContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}
interface ContainerBuilder {
  withExposedPorts(...ports: number[]): ContainerBuilder;
  withEnvironment(env: Record<string, string>): ContainerBuilder;
  start(): Promise<StartedContainer>;
}
interface TestcontainersModule {
  GenericContainer: new (image: string) => ContainerBuilder;
  getContainerRuntimeClient(): Promise<unknown>;
}

const NO_DOCKER = 'testcontainers backend needs a Docker engine; none answers. Use the local backend (default) or ZK_CONNECT';

/** A standalone `zookeeper:3.8` container. Only for machines with Docker; CI uses the local backend. */
export class TestcontainersCluster extends ClusterBase {
  startupMs = 0;
  protected readonly unsupportedReason = 'by the testcontainers backend';
  private readonly container: StartedContainer;
  private closing: Promise<void> | undefined;

  private constructor(container: StartedContainer, log?: (line: string) => void) {
    const host = container.getHost() === 'localhost' ? '127.0.0.1' : container.getHost();
    const clientPort = container.getMappedPort(2181);
    super([{ id: 1, host, clientPort, connectString: `${host}:${clientPort}` }], log);
    this.container = container;
  }

  static async start(config: LocalClusterConfig): Promise<TestcontainersCluster> {
    if (config.nodes !== 1) {
      throw new HarnessError('NOT_SUPPORTED', 'the testcontainers backend runs a standalone server only (nodes: 1)');
    }
    const tc = loadTestcontainers();
    try {
      await tc.getContainerRuntimeClient();
    } catch (err) {
      throw new HarnessError('NO_DOCKER', NO_DOCKER, undefined, { cause: err });
    }
    const began = Date.now();
    const container = await new tc.GenericContainer('zookeeper:3.8')
      .withExposedPorts(2181)
      .withEnvironment({
        ZOO_TICK_TIME: String(config.tickTime),
        ZOO_4LW_COMMANDS_WHITELIST: '*',
        ZOO_ADMINSERVER_ENABLED: 'false',
        ZOO_MAX_CLIENT_CNXNS: '0',
        ZOO_CFG_EXTRA: `minSessionTimeout=${config.minSessionTimeout} maxSessionTimeout=${config.maxSessionTimeout}`,
      })
      .start();
    const cluster = new TestcontainersCluster(container, config.log);
    try {
      await cluster.waitReady(60000);
    } catch (err) {
      await cluster.close();
      throw err;
    }
    cluster.startupMs = Date.now() - began;
    cluster.log(`ZooKeeper container ready at ${cluster.connectString} in ${cluster.startupMs} ms`);
    return cluster;
  }

  override close(): Promise<void> {
    this.closing ??= this.container.stop().then(() => undefined);
    return this.closing;
  }
}

function loadTestcontainers(): TestcontainersModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('testcontainers') as TestcontainersModule;
  } catch (err) {
    throw new HarnessError('NO_DOCKER', `the testcontainers package is not installed: it is an optional backend that package.json does not list (it would add ~190 packages to every install); add it for this checkout only with "npm install --no-save testcontainers"; ${NO_DOCKER}`, undefined, { cause: err });
  }
}
