/**
 * A ZkSession in its own process, for faults that must hit a real process (SIGSTOP past the session
 * timeout). Prints every session event; creates an ephemeral node on each new session.
 *   args: <connect> <sessionTimeoutMs> <ephemeralPathPrefix>
 */
import { ZkSession } from '../../lib/zk';
import { emit } from './worker-io';

const [connect, timeout, prefix] = process.argv.slice(2) as [string, string, string];
const session = new ZkSession({ connect, sessionTimeoutMs: Number(timeout) });
const createEphemeral = async (): Promise<void> => {
  const path = await session.create(`${prefix}-`, 'x', { mode: 'ephemeral-sequential' });
  emit('ephemeral', { path, sessionId: session.sessionId });
};
session.on('state', (state, previous) => emit('state', { state, previous }));
session.on('suspended', (i) => emit('suspended', i));
session.on('reconnected', (i) => emit('reconnected', i));
session.on('lost', (i) => emit('lost', i));
session.on('session', (i) => { emit('session', i); void createEphemeral().catch((e) => emit('error', { error: String(e) })); });
void session.start().then(async () => {
  emit('connected', { sessionId: session.sessionId, timeoutMs: session.sessionTimeoutMs });
  await createEphemeral();
}).catch((e) => emit('error', { error: String(e) }));
