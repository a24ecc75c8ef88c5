import type { TcpProxy } from '../harness';
import { sleep } from '../support/wait';
import type { ChaosServer, Testbed } from './testbed';

/**
 * The fault actions the scenario lists (scenarios.ts, replicated-scenarios.ts) are made of. A
 * whole-fault step ends with `bed.healed()`; the others are parts for a scenario's own sequence.
 */

export async function primaryOf(bed: Testbed): Promise<ChaosServer> {
  const p = bed.primary();
  if (!p) throw new Error('no primary to inject the fault into');
  return p;
}

/** The server whose member node comes right after `server`'s in the line (the one a handover names). */
export async function successorOf(bed: Testbed, server: ChaosServer): Promise<ChaosServer> {
  const own = await bed.memberNodeOf(server);
  for (const other of bed.servers) {
    if (other === server) continue;
    const node = await bed.memberNodeOf(other).catch(() => undefined);
    if (node === undefined) continue;
    const later = bed.servers.filter((x) => x !== server && x !== other);
    const between = await Promise.all(later.map((x) => bed.memberNodeOf(x).catch(() => undefined)));
    // Sequential names of one parent sort like their sequence numbers.
    if (node > own && between.every((n) => n === undefined || n < own || n > node)) return other;
  }
  throw new Error(`no member after ${server.label}`);
}

export function backupOf(bed: Testbed): ChaosServer {
  const b = bed.backups()[0];
  if (!b) throw new Error('no backup');
  return b;
}

/** Sends `sig` to a member's current process and marks it on the timeline. */
export function signal(bed: Testbed, s: ChaosServer, sig: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): void {
  s.worker.signal(sig);
  bed.mark(`${sig} ${s.label}`);
}

/** Holds every byte of `server`'s ZooKeeper links `ms` while `during` runs (marked), and lifts the delay even if it throws. */
export async function slowed(bed: Testbed, server: ChaosServer, ms: number, during: () => Promise<void>): Promise<void> {
  for (const proxy of server.zkProxies) proxy.delay(ms);
  bed.mark(`ZooKeeper links of ${server.label} slowed to ${ms} ms`);
  try {
    await during();
  } finally {
    for (const proxy of server.zkProxies) proxy.delay(0);
  }
}

/** Blackholes `proxies` (marking `what`, if given) while `during` runs, and heals them even if it throws. */
export async function blackholed(bed: Testbed, proxies: readonly TcpProxy[], what: string | undefined, during: () => Promise<void>): Promise<void> {
  for (const proxy of proxies) proxy.blackhole();
  if (what !== undefined) bed.mark(what);
  try {
    await during();
  } finally {
    for (const proxy of proxies) proxy.heal();
  }
}

/** SIGKILL the primary; healed once a successor is elected; then a replacement process starts. */
export async function killPrimary(bed: Testbed): Promise<void> {
  const p = await primaryOf(bed);
  signal(bed, p, 'SIGKILL');
  await bed.waitForPrimary(p);
  await sleep(300);
  bed.healed();
  await p.spawn();
}

/** SIGSTOP the primary until a successor is elected and a session timeout more, then SIGCONT. */
export async function stopPrimary(bed: Testbed): Promise<void> {
  const p = await primaryOf(bed);
  signal(bed, p, 'SIGSTOP');
  await bed.waitForPrimary(p);
  await sleep(bed.sessionTimeoutMs);
  signal(bed, p, 'SIGCONT');
  bed.healed();
}

/** Cuts the primary off from ZooKeeper (every ensemble link) until a successor is elected. */
export async function partitionPrimaryFromZk(bed: Testbed): Promise<void> {
  const p = await primaryOf(bed);
  await blackholed(bed, p.zkProxies, `ZooKeeper links of ${p.label} blackholed`, async () => {
    await bed.waitForPrimary(p);
    await sleep(500);
  });
  bed.healed();
}

/** SIGKILLs the ensemble node `pick` names and restarts it after 2 session timeouts. */
export async function killZkNode(bed: Testbed, pick: () => Promise<number | undefined>, what: string): Promise<void> {
  const id = await pick();
  if (id === undefined) throw new Error(`no ${what}`);
  await bed.zk.kill(id);
  await sleep(2 * bed.sessionTimeoutMs);
  await bed.zk.restart(id);
  bed.healed();
}

export function killZkLeader(bed: Testbed): Promise<void> {
  return killZkNode(bed, () => bed.zk.leader(), 'leader');
}

/**
 * Graceful handovers under load: the primary steps down (stops admitting, drains, releases its lease
 * and requeues at the back) `times` times in a row, each once a successor serves. Clients must follow
 * without a failed call; no call may run under the old epoch after the successor started.
 */
export async function stepDownPrimary(bed: Testbed, times = 3): Promise<void> {
  for (let i = 0; i < times; i++) {
    const p = await primaryOf(bed);
    bed.mark(`stepDown ${p.label}`);
    p.worker.send({ cmd: 'stepDown' });
    await bed.waitForPrimary(p);
    await sleep(200);
  }
  bed.healed();
}
