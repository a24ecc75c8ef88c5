/**
 * Calls a zk-ha service in a loop and prints who answered, the epoch, and every fault report.
 *   ZK_CONNECT=127.0.0.1:2181 SERVICE=counter npx tsx examples/client.ts [method] [intervalMs]
 * METHOD defaults to "incr" (counter) or "hash" (any other service). IDEMPOTENT=1 marks calls safe to retry.
 */
import { HaClient, RpcError } from '../lib';

const service = process.env.SERVICE ?? 'counter';
const method = process.argv[2] ?? (service === 'counter' ? 'incr' : 'hash');
const intervalMs = Number(process.argv[3] ?? 500);
const idempotent = process.env.IDEMPOTENT === '1' || method === 'get' || method === 'hash' || method === 'echo';

const client = new HaClient({
  zk: { connect: process.env.ZK_CONNECT ?? '127.0.0.1:2181', sessionTimeoutMs: 10000 },
  service,
  root: process.env.ZK_ROOT,
  deadlineMs: 15000, // long enough to wait out a failover (session timeout + election)
});
client.on('fault', (f) => {
  const code = typeof f.detail.code === 'string' ? ` (${f.detail.code})` : '';
  console.log(`fault ${f.kind}${code} member=${f.member ?? '-'}${f.durationMs === undefined ? '' : ` ${Math.round(f.durationMs)} ms`}`);
});
client.on('primary', ({ member, epoch }) => console.log(`primary is now ${member?.record.id ?? '(none)'} epoch ${epoch ?? '-'}`));

const stop = new AbortController(); // Ctrl-C also cancels the call in flight
process.once('SIGINT', () => stop.abort());

async function main(): Promise<void> {
  await client.start();
  console.log(`calling ${service}.${method} every ${intervalMs} ms (${client.mode}); Ctrl-C stops`);
  for (let n = 1; !stop.signal.aborted; n++) {
    try {
      const r = await client.callWithInfo(method, { text: `call ${n}` }, { idempotent, signal: stop.signal });
      console.log(`#${n} ${JSON.stringify(r.result)} member=${r.member} epoch=${r.epoch ?? '-'} attempts=${r.attempts}`);
    } catch (error) {
      const e = error instanceof RpcError ? `${error.code}${error.notExecuted ? '' : ' (outcome unknown)'}: ${error.message}` : String(error);
      console.log(`#${n} failed: ${e}`);
    }
    await new Promise((r) => setTimeout(r, stop.signal.aborted ? 0 : intervalMs));
  }
  await client.close();
}
main().catch((error: unknown) => { console.error(error); process.exit(1); });
