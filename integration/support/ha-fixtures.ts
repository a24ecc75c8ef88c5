import type { ServerWorkerSpec } from '../workers/server-spec';
import { Worker } from './worker';

export type ServerSpec = ServerWorkerSpec;

/** Spawns the HaServer worker (integration/workers/ha-server-worker.ts); does not wait. */
export function spawnServer(spec: ServerSpec): Worker {
  return new Worker('ha-server-worker.ts', [], { ZKHA_WORKER: JSON.stringify(spec) });
}

/** Starts an HaServer worker process and waits until it serves. */
export async function startServer(spec: ServerSpec): Promise<Worker> {
  const w = spawnServer(spec);
  await w.waitFor('started', 1, 30000);
  return w;
}

/** Handler runs a worker logged: method, callId, epoch, t0/t1 (hrtime ns), whether it held the lease at t0. */
export interface Run { method: string; callId?: string; epoch?: number; t0: bigint; t1: bigint; worker: string; leading?: boolean }

export function runsOf(w: Worker, id: string): Run[] {
  return w.of('run').map((e) => ({
    method: e.method as string, callId: e.callId as string | undefined, epoch: e.epoch as number | undefined,
    t0: BigInt(e.t0 as string), t1: BigInt(e.t1 as string), worker: id, leading: e.leading as boolean | undefined,
  }));
}

/** A steady stream of calls until stopped; records every outcome. */
export class Load {
  readonly ok: { callId: string; epoch: number | undefined; member: string }[] = [];
  readonly failed: { callId: string; code: string; message: string }[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private seq = 0;

  constructor(call: (callId: string) => Promise<{ epoch: number | undefined; member: string }>, concurrency = 4, pauseMs = 2) {
    for (let i = 0; i < concurrency; i++) {
      this.loops.push((async () => {
        while (this.running) {
          const callId = `c${process.pid}-${this.seq++}`;
          try {
            const r = await call(callId);
            this.ok.push({ callId, epoch: r.epoch, member: r.member });
          } catch (e) {
            const err = e as { code?: string; message?: string };
            this.failed.push({ callId, code: err.code ?? 'UNKNOWN', message: err.message ?? String(e) });
          }
          if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
        }
      })());
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
