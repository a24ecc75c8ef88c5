import type { CallContext, PeerInfo } from '../../transport';

/** What an HaServer handler learns about its call: the transport's context plus replication. */
export interface HaCallContext<M = Record<string, unknown>> extends CallContext<M> {
  /**
   * Replicates `op` (the primary orders it in its epoch, every in-sync backup receives it, then
   * it is applied here) and resolves with what `state.apply(op)` returned. Only with the
   * HaServer's `state` option. Rejects with UNAVAILABLE (outcome unknown) if leadership ends
   * before the op is committed: the next primary may or may not have it.
   */
  replicate<R = unknown>(op: unknown): Promise<R>;
}

/** A handler of an HaServer. */
export type HaHandler<P = unknown, R = unknown> = {
  bivarianceHack(params: P, ctx: HaCallContext): R | Promise<R>;
}['bivarianceHack'];

/**
 * The transport's CallContext with `replicate` added, by delegation: the transport's call object
 * stays what it is (its signal is created lazily and aborted by the transport).
 */
export class ReplicatedCall implements HaCallContext {
  constructor(private readonly call: CallContext, private readonly replicator: { replicate<R>(op: unknown): Promise<R> }) {}
  get signal(): AbortSignal {
    return this.call.signal;
  }
  get deadline(): number {
    return this.call.deadline;
  }
  remainingMs(): number {
    return this.call.remainingMs();
  }
  get epoch(): number | undefined {
    return this.call.epoch;
  }
  get peer(): PeerInfo {
    return this.call.peer;
  }
  get meta(): Record<string, unknown> {
    return this.call.meta;
  }
  get method(): string {
    return this.call.method;
  }
  get callId(): number {
    return this.call.callId;
  }
  replicate<R = unknown>(op: unknown): Promise<R> {
    return this.replicator.replicate<R>(op);
  }
}
