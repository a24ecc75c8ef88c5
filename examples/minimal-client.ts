/** Calls the primary of "greeter" (examples/minimal-server.ts), whichever process that is right now. */
import { HaClient } from '../lib';

async function main(): Promise<void> {
  const client = new HaClient({ zk: { connect: process.env.ZK_CONNECT ?? '127.0.0.1:2181' }, service: 'greeter' });
  await client.start();
  const { result, epoch, member } = await client.callWithInfo('hello', 'world', { idempotent: true });
  console.log(result, { epoch, member });
  await client.close();
}
main().catch((error: unknown) => { console.error(error); process.exit(1); });
