import { startZooKeeper, type ZkCluster } from '../harness';

/**
 * One standalone ZooKeeper shared by every integration test file that needs no faults on the
 * server itself (tests isolate themselves with uniqueRoot()). Started on first use; closed by the
 * root hook in hooks.ts after the whole run. Tests that kill, pause or partition ZooKeeper start
 * their own cluster instead.
 */
let shared: Promise<ZkCluster> | undefined;

export function sharedZooKeeper(): Promise<ZkCluster> {
  shared ??= startZooKeeper({ nodes: 1 });
  return shared;
}

export async function closeSharedZooKeeper(): Promise<void> {
  if (!shared) return;
  const pending = shared;
  shared = undefined;
  await (await pending.catch(() => undefined))?.close();
}
