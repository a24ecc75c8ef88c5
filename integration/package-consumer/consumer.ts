// Type-checked (never run) as a strict CommonJS TypeScript user of the installed package would
// write it: the HA API, the building blocks, option and event types.
import { HaServer, HaClient, RpcError, ZkError, acl } from 'zk-ha';
import type { HaServerOptions, HaClientOptions, FaultReport, AclEntry, CallContext } from 'zk-ha';
import { ZkSession, createBalancer } from 'zk-ha/blocks';
import type { ZnodeStat, ZkSessionState } from 'zk-ha/blocks';

const admin: AclEntry = acl.digest('admin', 'secret');
const serverOptions: HaServerOptions = {
  zk: { connect: '127.0.0.1:2181', sessionTimeoutMs: 4000 },
  service: 'typed',
  mode: 'primary-backup',
  acl: [admin, ...acl.worldRead()],
  handlers: { echo: (p: unknown, ctx: CallContext) => ({ p, epoch: ctx.epoch }) },
};
const server = new HaServer(serverOptions);
server.on('fault', (f: FaultReport) => console.log(f.kind, f.detail));
const clientOptions: HaClientOptions = { zk: { connect: '127.0.0.1:2181' }, service: 'typed' };
const client = new HaClient(clientOptions);

export async function run(): Promise<number | undefined> {
  const { url } = await server.start();
  await client.start();
  try {
    const r = await client.callWithInfo<{ epoch?: number }>('echo', { url }, { idempotent: true });
    return r.result.epoch;
  } catch (e) {
    if (e instanceof RpcError) return e.notExecuted ? 0 : -1;
    if (e instanceof ZkError) throw new Error(e.code);
    throw e;
  } finally {
    await client.close();
    await server.close();
  }
}

export async function blocks(): Promise<ZkSessionState> {
  const s = new ZkSession({ connect: '127.0.0.1:2181' });
  await s.start();
  const stat: ZnodeStat | null = await s.exists('/');
  console.log(stat?.numChildren, typeof createBalancer);
  await s.close();
  return s.state;
}
