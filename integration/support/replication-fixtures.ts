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

/** Loops of `add` calls with unique ids (`<prefix>-<n>`): what was sent, acknowledged, and why the rest failed. */
export interface IdWriter {
  readonly acked: string[];
  readonly sent: string[];
  readonly errors: string[];
  stop(): Promise<void>;
}

export function idWriter(c: { call(method: string, params: unknown, opts?: { deadlineMs?: number }): Promise<unknown> }, prefix: string,
  opts: { concurrency?: number; pad?: string; deadlineMs?: number } = {}): IdWriter {
  const acked: string[] = [];
  const sent: string[] = [];
  const errors: string[] = [];
  let running = true;
  let seq = 0;
  const loops = Array.from({ length: opts.concurrency ?? 4 }, async () => {
    while (running) {
      const id = `${prefix}-${seq++}`;
      sent.push(id);
      try {
        await c.call('add', opts.pad === undefined ? { id } : { id, pad: opts.pad }, opts.deadlineMs === undefined ? {} : { deadlineMs: opts.deadlineMs });
        acked.push(id);
      } catch (error) {
        // Not acknowledged: may or may not be in the state, but at most once. Yield to the event
        // loop: a call that fails at once (client closed) must not become a busy loop.
        errors.push((error as { code?: string }).code ?? String(error));
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  });
  return { acked, sent, errors, stop: async () => { running = false; await Promise.all(loops); } };
}
