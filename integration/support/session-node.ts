import type { ZkCluster } from '../harness';

/** The ensemble node a session is connected to, from each node's `cons`. */
export async function nodeOf(zk: ZkCluster, sessionId: string): Promise<number | undefined> {
  const wanted = BigInt(`0x${sessionId}`);
  for (const node of zk.nodes) {
    if (!zk.isRunning(node.id)) continue;
    const cons = await zk.cons(node.id).catch(() => '');
    for (const m of cons.matchAll(/sid=0x([0-9a-f]+)/g)) if (BigInt(`0x${m[1]}`) === wanted) return node.id;
  }
  return undefined;
}
