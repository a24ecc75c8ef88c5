import { randomUUID } from 'crypto';
import { servicePaths, ZkSession } from '../../lib/blocks';
import { decodeIsr, isrPath } from '../../lib/coordination/in-sync-set';
import type { IsrRecord } from '../../lib/coordination/in-sync-set';
import { startServer } from './ha-fixtures';
import type { ServerSpec } from './ha-fixtures';
import type { Worker } from './worker';

export type ReplicatedSpec = Omit<ServerSpec, 'mode' | 'replicated'>;

/** Starts the HaServer worker with replicated state and waits until it is registered. */
export function startReplicated(spec: ReplicatedSpec): Promise<Worker> {
  return startServer({ ...spec, mode: 'primary-backup', replicated: true });
}

/** A member's copy of the replicated state. */
export interface Dump {
  ids: string[]; counter: number; key: string; epoch: number; lastIndex: number; appliedIndex: number; ready: boolean; role: string;
}

export async function dumpOf(w: Worker, timeoutMs = 10000): Promise<Dump> {
  const tag = randomUUID();
  w.send({ cmd: 'dump', tag });
  const e = await w.waitFor('dump', 1, timeoutMs, (x) => x.tag === tag);
  return e as unknown as Dump;
}

/** The key a worker's replica has in the in-sync set. */
export function keyOf(w: Worker): string {
  return w.of('started')[0]!.key as string;
}

/** Reads the in-sync set znode. */
export async function readIsr(connect: string, root: string, service: string): Promise<IsrRecord | undefined> {
  const session = new ZkSession({ connect, sessionTimeoutMs: 4000 });
  try {
    await session.start();
    const path = isrPath(servicePaths(service, root));
    const stat = await session.exists(path);
    if (!stat) return undefined;
    return decodeIsr((await session.get(path)).data, path);
  } finally {
    await session.close();
  }
}

/** Ids appearing more than once. */
export function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const id of ids) (seen.has(id) ? dup : seen).add(id);
  return [...dup];
}
