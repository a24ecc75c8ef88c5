import type { FaultReport, HaClient } from '../../lib';
import type { ZkCluster } from '../../integration/harness';
import type { CallLoad } from './call-load';
import type { ServerProcess } from './server-process';

export interface DemoContext {
  readonly zk: ZkCluster;
  readonly servers: readonly ServerProcess[];
  readonly client: HaClient;
  readonly load: CallLoad;
  readonly sessionTimeoutMs: number;
  /** Fault reports the client emitted, oldest first. */
  readonly reports: readonly FaultReport[];
  /** Sleeps `ms` × the duration scale. */
  wait(ms: number): Promise<void>;
  event(line: string): void;
  until(what: string, check: () => boolean, timeoutMs?: number): Promise<void>;
}

/** One fault, injected and healed. `hard` faults (SIGKILL, SIGSTOP) may leave in-flight calls with an unknown outcome. */
export interface Step {
  readonly name: string;
  readonly hard: boolean;
  run(c: DemoContext): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The server the client routes to: the lowest member in its view. */
function primaryOf(c: DemoContext): ServerProcess {
  const id = c.client.primary?.record.id;
  const p = c.servers.find((s) => s.id === id && s.state === 'alive') ?? c.servers.find((s) => s.role === 'primary');
  if (!p) throw new Error('no primary to inject a fault into');
  return p;
}

async function allMembersBack(c: DemoContext): Promise<void> {
  await c.until('every server registered and seen by the client', () => c.servers.every((s) => s.state === 'alive' && s.role !== 'starting')
    && new Set(c.client.view.snapshot.members.map((m) => m.record.id)).size === c.servers.length
    && c.client.view.snapshot.members.length === c.servers.length);
}

async function restart(c: DemoContext, s: ServerProcess): Promise<void> {
  await s.start();
  await allMembersBack(c);
  c.event(`    ${s.id} restarted (pid ${s.pid}), role ${s.role}; the group is ${c.servers.length} again`);
}

async function newPrimaryAnswers(c: DemoContext): Promise<void> {
  await c.until('a call answered by a new primary', () => c.load.window?.newEpochAt !== undefined, 30000);
  const w = c.load.window!;
  c.event(`    the client got its first answer from the new primary ${c.client.primary?.record.id ?? '?'} (epoch ${c.load.lastEpoch}) ${Math.round(w.newPrimaryMs!)} ms after the fault`);
}

async function zkLeaderKill(c: DemoContext): Promise<void> {
  const id = await c.zk.leader();
  c.event(`>>> SIGKILL ZooKeeper node ${id} (pid ${c.zk.pid(id)}), the ensemble leader`);
  await c.zk.kill(id);
  await c.wait(4000);
  c.event(`    restarting ZooKeeper node ${id}`);
  await c.zk.restart(id);
  c.event(`    ZooKeeper node ${id} serves again (pid ${c.zk.pid(id)})`);
  await c.wait(2500);
}

/** Stops and starts every server in turn, backups first (primary/backup: one failover only). */
async function rollingRestart(c: DemoContext, primaryLast: boolean): Promise<void> {
  const order = primaryLast ? [...c.servers].sort((a, b) => Number(a === primaryOf(c)) - Number(b === primaryOf(c))) : [...c.servers];
  c.event(`>>> rolling restart: ${order.map((s) => s.id).join(', ')} (SIGTERM, wait, start, wait until the client sees it)`);
  for (const s of order) {
    if (s.role === 'primary' && c.load.window) c.load.window.primaryHitAt = performance.now();
    await s.stop();
    await s.start();
    await allMembersBack(c);
    c.event(`    ${s.id} restarted (pid ${s.pid}), role ${s.role}`);
    await c.wait(1000);
  }
}

export const PRIMARY_BACKUP_STEPS: readonly Step[] = [
  {
    name: 'SIGKILL primary', hard: true,
    async run(c) {
      const p = primaryOf(c);
      c.event(`>>> SIGKILL ${p.id} (pid ${p.pid}), the primary of epoch ${c.load.lastEpoch}`);
      await p.kill();
      await newPrimaryAnswers(c);
      await c.wait(2500);
      await restart(c, p);
      await c.wait(2500);
    },
  },
  {
    name: 'SIGSTOP primary', hard: true,
    async run(c) {
      const p = primaryOf(c);
      const pausedFor = c.sessionTimeoutMs + 1500;
      c.event(`>>> SIGSTOP ${p.id} (pid ${p.pid}), the primary, for ${pausedFor} ms (session timeout ${c.sessionTimeoutMs} ms)`);
      p.pause();
      const stoppedAt = performance.now();
      await newPrimaryAnswers(c);
      await sleep(Math.max(0, pausedFor - (performance.now() - stoppedAt)));
      c.event(`    SIGCONT ${p.id}: its lease has run out, it must not serve; it finds its session expired and rejoins as a backup`);
      p.resume();
      await c.until(`${p.id} demoted`, () => p.role !== 'primary');
      await allMembersBack(c);
      c.event(`    ${p.id} is back, role ${p.role}`);
      await c.wait(2500);
    },
  },
  {
    name: 'SIGTERM primary (graceful)', hard: false,
    async run(c) {
      const p = primaryOf(c);
      c.event(`>>> SIGTERM ${p.id} (pid ${p.pid}), the primary: server.close() hands over before it stops`);
      await p.stop();
      await newPrimaryAnswers(c);
      await c.wait(1000);
      await restart(c, p);
      await c.wait(2500);
    },
  },
  { name: 'ZooKeeper leader SIGKILL', hard: false, run: zkLeaderKill },
  { name: 'rolling restart (all 3)', hard: false, run: (c) => rollingRestart(c, true) },
];

function ejectionsOf(c: DemoContext, id: string, kind: FaultReport['kind']): number {
  return c.reports.filter((r) => r.member === id && r.kind === kind).length;
}

export const REDUNDANT_STEPS: readonly Step[] = [
  {
    name: 'flaky member (80% errors)', hard: false,
    async run(c) {
      const s = c.servers[1]!;
      const ejected = ejectionsOf(c, s.id, 'endpoint-ejected');
      c.event(`>>> ${s.id} turns flaky (SIGUSR2): 80% of its calls fail "not executed", so the client retries them elsewhere`);
      s.signal('SIGUSR2');
      await c.until(`${s.id} ejected`, () => ejectionsOf(c, s.id, 'endpoint-ejected') > ejected, 15000);
      await c.wait(4000);
      const recovered = ejectionsOf(c, s.id, 'endpoint-recovered');
      c.event(`    ${s.id} heals (SIGUSR2 again); a probe call will re-admit it`);
      s.signal('SIGUSR2');
      await c.until(`${s.id} recovered`, () => ejectionsOf(c, s.id, 'endpoint-recovered') > recovered, 30000);
      await c.wait(2500);
    },
  },
  {
    name: 'SIGKILL a member', hard: true,
    async run(c) {
      const s = c.servers[2]!;
      c.event(`>>> SIGKILL ${s.id} (pid ${s.pid}); the others take its share`);
      await s.kill();
      await c.wait(4000);
      const before = c.load.okByMember.get(s.id) ?? 0;
      await restart(c, s);
      await c.until(`${s.id} serves again`, () => (c.load.okByMember.get(s.id) ?? 0) > before);
      await c.wait(2500);
    },
  },
  {
    name: 'SIGSTOP a member', hard: true,
    async run(c) {
      const s = c.servers[0]!;
      const pausedFor = c.sessionTimeoutMs + 1000;
      c.event(`>>> SIGSTOP ${s.id} (pid ${s.pid}) for ${pausedFor} ms; the client's heartbeat marks it down`);
      s.pause();
      await sleep(pausedFor);
      c.event(`    SIGCONT ${s.id}: it rejoins with a new session`);
      s.resume();
      await allMembersBack(c);
      await c.wait(2500);
    },
  },
  {
    name: 'SIGTERM a member (graceful)', hard: false,
    async run(c) {
      const s = c.servers[1]!;
      c.event(`>>> SIGTERM ${s.id} (pid ${s.pid}): it leaves the group, drains and stops`);
      await s.stop();
      await c.wait(2500);
      await restart(c, s);
      await c.wait(2500);
    },
  },
  { name: 'ZooKeeper leader SIGKILL', hard: false, run: zkLeaderKill },
  { name: 'rolling restart (all 3)', hard: false, run: (c) => rollingRestart(c, false) },
];
