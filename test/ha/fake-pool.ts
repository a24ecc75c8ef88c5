/**
 * A fake of the pool the call policies use (lib/ha/call-pool.ts): members that answer from a
 * script, no ZooKeeper and no sockets.
 */
import type { Member, MembershipSnapshot } from '../../lib/coordination';
import { resolveBackoffOptions, RetryBudget } from '../../lib/routing';
import { RpcError } from '../../lib/transport';
import type { AttemptOptions, AttemptResult, CallPool, CallTarget } from '../../lib/ha/call-pool';
import type { PolicyContext } from '../../lib/ha/call-policy';

/** What a member does with one attempt: answer (with an epoch), fail, or hang until cancelled. */
export type Outcome =
  | { readonly epoch?: number; readonly result?: unknown; readonly afterMs?: number }
  | { readonly error: RpcError; readonly afterMs?: number }
  | 'hang';

export class FakeTarget implements CallTarget {
  up = true;
  refused: RpcError | undefined;
  /** Outcomes of the next attempts, in order; when empty, `otherwise`. */
  readonly script: Outcome[] = [];
  otherwise: Outcome = { result: 'ok' };
  /** Attempts that reached this member (sent). */
  attempts = 0;
  constructor(readonly name: string, readonly id: string, readonly url: string, readonly sequence: number) {}

  /** Answers with epoch = its own sequence (an honest primary). */
  servesAsPrimary(): this {
    this.otherwise = { result: this.id, epoch: this.sequence };
    return this;
  }

  member(): Member {
    return {
      name: this.name, path: `/s/members/${this.name}`, sequence: this.sequence, owner: '0',
      record: { id: this.id, url: this.url, weight: 1, pid: 1, host: 'h', startedAt: 0, version: '0.1.0' },
    };
  }
}

export class FakePool implements CallPool<FakeTarget> {
  readonly targets = new Map<string, FakeTarget>();
  private readonly listeners = new Set<() => void>();
  private rr = 0;
  /** Every attempt, in order: member name and method. */
  readonly log: { member: string; method: string }[] = [];

  add(id: string, sequence: number): FakeTarget {
    const name = `m-${String(sequence).padStart(10, '0')}`;
    const t = new FakeTarget(name, id, `ws://127.0.0.1:${9000 + sequence}`, sequence);
    this.targets.set(name, t);
    return t;
  }

  get size(): number {
    return this.targets.size;
  }

  get(name: string): FakeTarget | undefined {
    return this.targets.get(name);
  }

  byUrl(url: string): FakeTarget | undefined {
    for (const t of this.targets.values()) if (t.url === url) return t;
    return undefined;
  }

  /** Round robin over the members that are up. */
  pick(): FakeTarget | undefined {
    const up = [...this.targets.values()].filter((t) => t.up);
    if (up.length === 0) return undefined;
    return up[this.rr++ % up.length];
  }

  refusedEverywhere(): RpcError | undefined {
    let refusal: RpcError | undefined;
    for (const t of this.targets.values()) {
      if (!t.refused) return undefined;
      refusal ??= t.refused;
    }
    return refusal;
  }

  async attempt<R>(target: FakeTarget, method: string, _params: unknown, _opts: AttemptOptions, signal: AbortSignal | undefined): Promise<AttemptResult<R>> {
    if (!target.up) throw new RpcError('UNAVAILABLE', 'down; not sent', { notExecuted: true });
    target.attempts++;
    this.log.push({ member: target.name, method });
    const outcome = target.script.shift() ?? target.otherwise;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new RpcError('CANCELLED', 'cancelled', { notExecuted: false }));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (outcome === 'hang') return;
      setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, outcome.afterMs ?? 0);
    });
    if (outcome === 'hang') throw new Error('unreachable');
    if ('error' in outcome) throw outcome.error;
    return { result: (outcome.result ?? target.id) as R, epoch: outcome.epoch, member: target.id, attempts: 1 };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells waiting calls that something changed. */
  changed(): void {
    for (const l of [...this.listeners]) l();
  }
}

export interface FakeReport { kind: string; member?: string; durationMs?: number; detail?: Record<string, unknown> }

export function context(pool: FakePool, reports: FakeReport[] = []): PolicyContext<FakeTarget> {
  return {
    service: 'svc',
    pool,
    budget: new RetryBudget({}),
    backoff: resolveBackoffOptions({ initialMs: 1, maxMs: 5, jitter: 'full' }),
    random: () => 0.5,
    faults: { report: (kind, fields) => { reports.push({ kind, ...fields }); } },
    closed: () => false,
  };
}

/** A snapshot as the view publishes it: the acknowledged primary (null: none) and the generation. */
export function snapshot(members: FakeTarget[], extra: { primary: FakeTarget | null; generation: string }): MembershipSnapshot {
  const ms = members.map((m) => m.member()).sort((a, b) => a.sequence - b.sequence);
  return { members: ms, leader: ms[0], primary: extra.primary?.member(), generation: extra.generation, version: 1 };
}

export function notPrimary(hint?: FakeTarget): RpcError {
  return new RpcError('NOT_PRIMARY', 'not me', { leaderHint: hint?.url });
}

export function lostAfterSend(): RpcError {
  return new RpcError('UNAVAILABLE', 'connection lost after the request was sent', { notExecuted: false, retryable: true });
}

export function rejected(p: Promise<unknown>): Promise<RpcError> {
  return p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e as RpcError);
}
