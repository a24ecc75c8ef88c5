import { integerInRange, oneOf, positiveNumber } from '../../lib/base/options';
import { InvalidOptionError } from '../../lib/base/errors';
import { HarnessError } from './errors';
import { ExternalCluster } from './external-cluster';
import { LocalCluster, type LocalClusterConfig } from './local-cluster';
import { TestcontainersCluster } from './testcontainers-cluster';
import type { Backend, StartOptions, ZkCluster } from './types';
import { findZooKeeper } from './zookeeper-install';

const BACKENDS: readonly Backend[] = ['local', 'testcontainers', 'external'];

/**
 * Starts ZooKeeper for a test and resolves once every node serves (srvr shows a Mode:).
 * Always pair with `await cluster.close()` in after(); the process exit hooks and the reaper are
 * only the safety net.
 */
export async function startZooKeeper(opts: StartOptions = {}): Promise<ZkCluster> {
  const backend = oneOf('backend', opts.backend, BACKENDS, process.env.ZK_CONNECT ? 'external' : 'local');
  const nodes = integerInRange('nodes', opts.nodes, 1, 9, 1);
  if (nodes !== 1 && nodes % 2 === 0) throw new InvalidOptionError('nodes', `must be 1 or an odd ensemble size, got ${nodes}`);
  const tickTime = positiveNumber('tickTime', opts.tickTime, 100);
  const minSessionTimeout = positiveNumber('minSessionTimeout', opts.minSessionTimeout, 2 * tickTime);
  const maxSessionTimeout = positiveNumber('maxSessionTimeout', opts.maxSessionTimeout, 60000);
  if (maxSessionTimeout < minSessionTimeout) {
    throw new InvalidOptionError('maxSessionTimeout', `must be >= minSessionTimeout (${minSessionTimeout}), got ${maxSessionTimeout}`);
  }
  if (opts.log !== undefined && typeof opts.log !== 'function') throw new InvalidOptionError('log', 'must be a function');
  if (opts.jvmFlags !== undefined && (!Array.isArray(opts.jvmFlags) || !opts.jvmFlags.every((f) => typeof f === 'string' && f.startsWith('-')))) {
    throw new InvalidOptionError('jvmFlags', 'must be an array of JVM flags (each starting with "-")');
  }
  const config: LocalClusterConfig = { nodes, tickTime, minSessionTimeout, maxSessionTimeout, log: opts.log, systemProperties: opts.systemProperties, jvmFlags: opts.jvmFlags };

  switch (backend) {
    case 'external': {
      const connect = process.env.ZK_CONNECT;
      if (!connect) throw new HarnessError('ZK_NOT_FOUND', 'backend "external" needs env ZK_CONNECT=host:port[,host:port...]');
      return new ExternalCluster(connect, opts.log);
    }
    case 'testcontainers':
      return TestcontainersCluster.start(config);
    case 'local': {
      const install = findZooKeeper();
      try {
        return await LocalCluster.start(config, install);
      } catch (err) {
        // A port picked as free can be taken before the JVM binds it: one retry on fresh ports.
        if (!(err instanceof HarnessError && err.code === 'START_FAILED')) throw err;
        opts.log?.(`ZooKeeper start failed, retrying once on new ports: ${err.message.split('\n')[0]}`);
        return LocalCluster.start(config, install);
      }
    }
  }
}
