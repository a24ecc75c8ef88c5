/**
 * One election candidate in its own process. Logs registered / elected / demoted / act events with
 * process.hrtime.bigint() (CLOCK_MONOTONIC, comparable across processes on one machine) so a test can
 * merge the logs of all candidates and check leadership intervals.
 *   args: <connect> <root> <service> <sessionTimeoutMs> <memberId>
 *   stdin commands: {"cmd":"resign"} {"cmd":"leave"} {"cmd":"stats"} {"cmd":"busy","ms":N}
 * A busy stall logs busy-start / busy-end around the blocked event loop.
 */
import { Election, Membership } from '../../lib/coordination';
import { ZkSession } from '../../lib/zk';
import { emit, onCommand } from './worker-io';

const [connect, root, service, timeout, id] = process.argv.slice(2) as [string, string, string, string, string];
const session = new ZkSession({ connect, sessionTimeoutMs: Number(timeout) });
const membership = new Membership(session, { service, mode: 'primary-backup', root, record: { id, url: `ws://127.0.0.1:1/${id}` } });
const election = new Election(session, membership, { leaseFraction: 0.5 });
election.on('takeover', (e) => emit('takeover', e));

membership.on('registered', (n) => emit('registered', { path: n.path, sequence: n.sequence, reason: n.reason }));
election.on('elected', (e) => emit('elected', e));
election.on('demoted', (e) => emit('demoted', e));
session.on('lost', (e) => emit('lost', e));
session.on('session', (e) => emit('session', e));
membership.on('unregistered', (e) => emit('unregistered', e));
membership.on('failed', (e) => emit('failed', { error: String(e) }));
election.on('error', (e) => emit('election-error', { error: String(e) }));

// "Acting as leader": what a primary does before serving a call. Logged so the test can prove a
// resumed ex-leader never acts on a stale epoch.
// `checkedAt` is stamped before the check: a SIGSTOP can land between the check and the log line,
// and the line's own stamp would then date a pre-freeze act after the resume.
setInterval(() => {
  const checkedAt = process.hrtime.bigint();
  if (election.isLeader()) emit('act', { epoch: election.epoch, checkedAt: checkedAt.toString() });
}, 20);

onCommand(async (c) => {
  try {
    if (c.cmd === 'resign') await election.resign();
    if (c.cmd === 'leave') { await election.resign({ rejoin: false }); emit('left'); }
    if (c.cmd === 'stats') emit('stats', { ...election.stats, watchEvents: session.stats.watchEvents });
    if (c.cmd === 'busy') {
      emit('busy-start');
      const end = Date.now() + Number(c.ms);
      while (Date.now() < end) { /* stall the event loop */ }
      emit('busy-end');
    }
  } catch (error) {
    emit('command-error', { cmd: c.cmd, error: String(error) });
  }
});

void (async () => {
  await session.start();
  election.start();
  await membership.register();
})().catch((e) => emit('error', { error: String(e) }));
