/**
 * Provokes ZooKeeper's QUOTA_EXCEEDED (-125), an error code node-zookeeper-client 1.1.3 does not know.
 * The caller has set a hard count limit of 2 on <root> (which exists: it counts as one).
 *   args: <connect> <root> <mode: session|fixed|unfixed>
 * session: ZkSession; the create fails with a typed error and the process lives on.
 * fixed:   the bare client after lib/zk's applyClientFixes(): the error reaches the callback.
 * unfixed: the bare library as published (lib/zk never loaded): its throw inside the socket
 *          handler kills the process.
 */
import * as nzc from 'node-zookeeper-client';
import { emit } from './worker-io';

const [connect, root, mode] = process.argv.slice(2) as [string, string, string];

async function main(): Promise<void> {
  if (mode === 'session') {
    // Loaded only here, so that "unfixed" runs the library untouched.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ZkError, ZkSession } = require('../../lib/zk') as typeof import('../../lib/zk');
    const session = new ZkSession({ connect, sessionTimeoutMs: 4000 });
    await session.start();
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) {
      codes.push(await session.create(`${root}/n${i}`).then(() => 'ok', (e: unknown) => (e instanceof ZkError ? e.code : String(e))));
    }
    emit('result', { codes });
    await session.close();
    return;
  }
  if (mode === 'fixed') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { applyClientFixes } = require('../../lib/zk/client-fixes') as typeof import('../../lib/zk/client-fixes');
    emit('fixes', { applied: applyClientFixes() });
  }
  const client = nzc.createClient(connect, { sessionTimeout: 4000 });
  client.once('connected', () => {
    let i = 0;
    const next = (): void => {
      client.create(`${root}/b${i}`, null, nzc.ACL.OPEN_ACL_UNSAFE, nzc.CreateMode.PERSISTENT, (e) => {
        const ex = e as nzc.Exception | null;
        emit('bare-result', { i, code: ex ? ex.code : 0, name: ex ? ex.name : undefined, isException: ex ? ex instanceof nzc.Exception : undefined });
        if (++i < 3) next();
        else process.exit(0);
      });
    };
    next();
  });
  client.connect();
}
main().catch((e) => { emit('error', { error: String(e) }); process.exit(3); });
