import { ClusterBase } from './cluster-base';
import { HarnessError } from './errors';
import type { ZkNodeInfo } from './types';

/** An ensemble someone else runs (env ZK_CONNECT): the harness reads and expires, never kills. */
export class ExternalCluster extends ClusterBase {
  readonly startupMs = 0;
  protected readonly unsupportedReason = 'with ZK_CONNECT (the harness does not own those servers)';

  constructor(connect: string, log?: (line: string) => void) {
    super(parseConnectString(connect), log);
    this.log(`using the ZooKeeper at ZK_CONNECT=${connect}`);
  }

  override close(): Promise<void> {
    return Promise.resolve();
  }
}

/** "h1:p1,h2:p2/chroot" → nodes numbered 1..n in the given order; the chroot is dropped. */
export function parseConnectString(connect: string): ZkNodeInfo[] {
  const hosts = connect.split('/')[0]!.split(',').map((h) => h.trim()).filter((h) => h.length > 0);
  if (hosts.length === 0) throw new HarnessError('ZK_NOT_FOUND', `ZK_CONNECT="${connect}" names no server`);
  return hosts.map((hostPort, i) => {
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(hostPort);
    const port = m?.[2] === undefined ? 2181 : Number(m[2]);
    if (!m || !(port > 0 && port < 65536)) throw new HarnessError('ZK_NOT_FOUND', `ZK_CONNECT="${connect}": bad server "${hostPort}"`);
    return { id: i + 1, host: m[1]!, clientPort: port, connectString: `${m[1]!}:${port}` };
  });
}
