import { ZkSession } from '../../lib/zk';
import { startZooKeeper, type ZkCluster } from '../harness';
import { uniqueRoot } from './wait';

/** A standalone ZooKeeper that enforces quotas (system property zookeeper.enforceQuota=true). */
export function startQuotaZooKeeper(): Promise<ZkCluster> {
  return startZooKeeper({ nodes: 1, systemProperties: { 'zookeeper.enforceQuota': 'true' } });
}

/**
 * A fresh root with a ZooKeeper hard quota of `count` nodes (the root itself counts as one). Needs a
 * server that enforces quotas (startQuotaZooKeeper).
 */
export async function quotaRoot(connect: string, name: string, count = 2): Promise<string> {
  const root = uniqueRoot(name);
  const quotaPath = `/zookeeper/quota${root}`;
  const s = new ZkSession({ connect, sessionTimeoutMs: 4000 });
  await s.start();
  try {
    await s.mkdirp(quotaPath);
    await s.create(`${quotaPath}/zookeeper_limits`, `count=-1,bytes=-1,countHardLimit=${count},byteHardLimit=-1`);
    await s.create(`${quotaPath}/zookeeper_stats`, 'count=0,bytes=0');
    await s.mkdirp(root);
  } finally {
    await s.close();
  }
  return root;
}
