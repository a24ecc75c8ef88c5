/**
 * Provokes ZooKeeper's QUOTA_EXCEEDED (-125), an error code node-zookeeper-client 1.1.3 does not know.
 *   args: <connect> <root> <mode: bare|session>
 * bare: the bare client with the patch; unpatched: with 1.1.3's original Exception.create,
 * whose throw inside the socket handler kills the process.
 * session: ZkSession; the create fails with a typed error and the process lives on.
 */
import * as nzc from 'node-zookeeper-client';
import { ZkError, ZkSession } from '../../lib/zk';
import { emit } from './worker-io';

const [connect, root, mode] = process.argv.slice(2) as [string, string, string];
const quotaPath = `/zookeeper/quota${root}`;

async function main(): Promise<void> {
  const session = new ZkSession({ connect, sessionTimeoutMs: 4000 });
  await session.start();
  await session.mkdirp(quotaPath);
  await session.create(`${quotaPath}/zookeeper_limits`, 'count=-1,bytes=-1,countHardLimit=2,byteHardLimit=-1');
  await session.create(`${quotaPath}/zookeeper_stats`, 'count=0,bytes=0');
  await session.create(root);
  if (mode === 'session') {
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      codes.push(await session.create(`${root}/n${i}`).then(() => 'ok', (e: ZkError) => e.code));
    }
    emit('result', { codes, serverCodes: [] });
    await session.close();
    return;
  }
  if (mode === 'unpatched') {
    // Restore 1.1.3's original behaviour (validateCode throws on a code it does not know).
    const known = new Set([0, -1, -2, -3, -4, -5, -6, -7, -8, -100, -101, -102, -103, -108, -110, -111, -112, -113, -114, -115]);
    const create = nzc.Exception.create.bind(nzc.Exception);
    (nzc.Exception as { create: (code: number, path?: string) => nzc.Exception }).create = (code, path) => {
      if (!known.has(code)) throw new Error(`Unknown code: ${code}`);
      return create(code, path);
    };
  }
  const client = nzc.createClient(connect, { sessionTimeout: 4000 });
  client.once('connected', () => {
    let i = 0;
    const next = (): void => {
      client.create(`${root}/b${i}`, null, nzc.ACL.OPEN_ACL_UNSAFE, nzc.CreateMode.PERSISTENT, (e) => {
        emit('bare-result', { i, code: e ? (e as nzc.Exception).code : 0 });
        if (++i < 4) next();
        else process.exit(0);
      });
    };
    next();
  });
  client.connect();
}
main().catch((e) => { emit('error', { error: String(e) }); process.exit(3); });
