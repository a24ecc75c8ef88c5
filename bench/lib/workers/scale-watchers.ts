/**
 * `count` watching clients in one process, for bench/scale.ts: each its own ZkSession (leaseProbe
 * 'read') with its own MembershipView of one service. Every view's change is stamped with
 * process.hrtime.bigint() (CLOCK_MONOTONIC, the parent's clock) per member that joined or left.
 *   args: <connect> <root> <service> <count> <sessionTimeoutMs> [<dir containing lib/> [<watchMode>]]
 *   (the lib directory: an A/B baseline, e.g. main's lib; watchMode 'auto' | 'children' | 'session': ZkSession
 *   without a view, see startSessionOnly)
 * IPC in: {cmd:'mark'} (zero the read counters), {cmd:'report'}, {cmd:'close'}
 * IPC out: {ready, members, modes}, {seen: key} once every view saw key ("join:<id>" / "leave:<id>"),
 *          {report: {arrivals, reads, probes, watchEvents, clients}}, {error}
 */
import * as path from 'node:path';
import { Arrivals } from './arrivals';
import { startChangeProfile, stopChangeProfile } from './change-profiler';
import type * as Coordination from '../../../lib/coordination';
import type * as Zk from '../../../lib/zk';

const [connect, root, service, countArg, timeoutArg, libArg, watchModeArg] = process.argv.slice(2) as [string, string, string, string, string, string?, string?];
const libDir = path.resolve(libArg ?? path.join(__dirname, '..', '..', '..', 'lib'));
/* eslint-disable @typescript-eslint/no-require-imports -- the lib under test is chosen at run time (A/B) */
const { MembershipView } = require(path.join(libDir, 'coordination')) as typeof Coordination;
const { ZkSession } = require(path.join(libDir, 'zk')) as typeof Zk;
/* eslint-enable @typescript-eslint/no-require-imports */
type ZkSession = Zk.ZkSession;
type MembershipView = Coordination.MembershipView;
const watchMode = watchModeArg === 'children' ? 'children' : 'auto';
const count = Number(countArg);
const sessions: ZkSession[] = [];
const views: MembershipView[] = [];
let base = { reads: 0, probes: 0, watchEvents: 0 };

function send(message: object): void {
  process.send?.(message);
}
const arrivals = new Arrivals(count, send);
const arrived = (key: string): void => arrivals.arrived(key);

function totals(): { reads: number; probes: number; watchEvents: number } {
  const t = { reads: 0, probes: 0, watchEvents: 0 };
  for (const s of sessions) {
    t.reads += s.stats.reads;
    t.probes += s.stats.probes;
    t.watchEvents += s.stats.watchEvents;
  }
  return t;
}

/**
 * watchMode 'session' (bench:scale --layers): ZkSession alone, no view — a persistent recursive watch,
 * a getData per join, the member id parsed from the record: what the session layer costs without
 * MembershipView (the A/B of the layers; raw wire-protocol sessions are scale-raw-watchers.ts).
 */
async function startSessionOnly(session: ZkSession): Promise<number> {
  const members = `${root}/${service}/members`;
  const ids = new Map<string, string>();
  const read = async (path: string): Promise<string> => {
    const id = (JSON.parse((await session.get(path)).data.toString()) as { id: string }).id;
    ids.set(path, id);
    return id;
  };
  await session.watchRecursive(members, (event) => {
    if (event.type === 'deleted') {
      const id = ids.get(event.path);
      ids.delete(event.path);
      if (id !== undefined) arrived(`leave:${id}`);
    } else if (event.type === 'created' && event.path !== members) {
      void read(event.path).then((id) => arrived(`join:${id}`));
    }
  });
  const { children } = await session.children(members);
  await Promise.all(children.map((name) => read(`${members}/${name}`)));
  return ids.size;
}
const sessionOnlySizes: number[] = [];

async function startOne(): Promise<void> {
  const session = new ZkSession({ connect, sessionTimeoutMs: Number(timeoutArg), leaseProbe: 'read', startTimeoutMs: 120000 });
  sessions.push(session);
  await session.start();
  if (watchModeArg === 'session') {
    sessionOnlySizes.push(await startSessionOnly(session));
    return;
  }
  // A baseline lib without the option ignores it.
  const view = new MembershipView(session, service, { root, watchMode });
  views.push(view);
  view.on('change', (c) => {
    for (const m of c.joined) arrived(`join:${m.record.id}`);
    for (const m of c.left) arrived(`leave:${m.record.id}`);
  });
  await view.start();
}

process.on('message', (m: { cmd?: string }) => {
  if (m.cmd === 'mark') {
    base = totals();
    arrivals.clear();
    void startChangeProfile().then(() => send({ marked: true }));
  } else if (m.cmd === 'report') {
    void stopChangeProfile();
    const now = totals();
    send({
      report: {
        clients: count,
        reads: now.reads - base.reads,
        probes: now.probes - base.probes,
        watchEvents: now.watchEvents - base.watchEvents,
        arrivals: arrivals.toJSON(),
      },
    });
  } else if (m.cmd === 'close') {
    for (const v of views) v.stop();
    void Promise.all(sessions.map((s) => s.close())).finally(() => process.exit(0));
  }
});

void (async () => {
  // A few at a time: each view's first read is one getChildren plus one getData per member.
  const batch = 25;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => startOne()));
  }
  if (watchModeArg === 'session') {
    send({ ready: true, members: sessionOnlySizes, modes: { 'persistent (session only)': count } });
    return;
  }
  const modes: Record<string, number> = {};
  for (const v of views) {
    const mode = (v as { watchMode?: string }).watchMode ?? 'children (no watchMode)';
    modes[mode] = (modes[mode] ?? 0) + 1;
  }
  send({ ready: true, members: views.map((v) => v.snapshot.members.length), modes });
})().catch((error: unknown) => send({ error: String(error) }));
