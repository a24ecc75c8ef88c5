import { MAX_CALL_ID } from './codec';
import type { RpcError } from './rpc-error';

export interface RpcResponse<R = unknown> {
  result: R;
  epoch: number | undefined;
}

/** One outstanding call. `written` is the retry-safety bit: once true the outcome is unknown on loss. */
export class PendingCall {
  written = false;
  /** The encoded request while it waits in the local queue (backpressure). */
  frame: Buffer | undefined;
  onAbort: (() => void) | undefined;
  constructor(
    readonly id: number,
    /** Monotonic ms (lib/base/clock). */
    readonly deadline: number,
    readonly resolve: (r: RpcResponse<unknown>) => void,
    readonly reject: (e: RpcError) => void,
    readonly signal: AbortSignal | undefined,
  ) {}
}

/**
 * The client's table of outstanding calls by id, and the local queue of calls not yet written
 * (the socket was over its high-water mark). Knows nothing of sockets.
 */
export class CallTable {
  private readonly calls = new Map<number, PendingCall>();
  private queue: PendingCall[] = [];
  private queueHead = 0;
  private nextId = 1;

  /** Calls not yet settled (including those queued locally). */
  get size(): number {
    return this.calls.size;
  }

  /** Calls waiting in the local queue, never written. */
  get queued(): number {
    let n = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) if (this.queue[i]!.frame !== undefined) n++;
    return n;
  }

  get hasQueue(): boolean {
    return this.queueHead < this.queue.length;
  }

  allocateId(): number {
    let id = this.nextId;
    // Ids wrap; skip one still in use (only possible with ~4e9 calls outstanding-ish, cheap to check).
    while (this.calls.has(id)) id = id >= MAX_CALL_ID ? 1 : id + 1;
    this.nextId = id >= MAX_CALL_ID ? 1 : id + 1;
    return id;
  }

  add(call: PendingCall): void {
    this.calls.set(call.id, call);
  }

  enqueue(call: PendingCall, frame: Buffer): void {
    call.frame = frame;
    this.queue.push(call);
  }

  /** The next queued call still waiting to be written, taken off the queue; undefined when empty. */
  nextQueued(): PendingCall | undefined {
    while (this.queueHead < this.queue.length) {
      const call = this.queue[this.queueHead++]!;
      if (call.frame !== undefined && this.calls.get(call.id) === call) return call;
    }
    this.queue = [];
    this.queueHead = 0;
    return undefined;
  }

  /** Removes a call from the table; undefined if it was already settled. */
  take(id: number): PendingCall | undefined {
    const call = this.calls.get(id);
    if (call === undefined) return undefined;
    this.calls.delete(id);
    if (call.onAbort !== undefined) call.signal!.removeEventListener('abort', call.onAbort);
    call.frame = undefined;
    return call;
  }

  /** Takes every call past its deadline and hands it to `expired`; returns the earliest deadline left. */
  expire(now: number, expired: (call: PendingCall) => void): number {
    let next = Infinity;
    for (const call of this.calls.values()) {
      if (call.deadline <= now) {
        this.take(call.id);
        expired(call);
      } else if (call.deadline < next) {
        next = call.deadline;
      }
    }
    return next;
  }

  /** Takes every call (and empties the queue). */
  takeAll(): PendingCall[] {
    const all = [...this.calls.values()];
    for (const call of all) this.take(call.id);
    this.queue = [];
    this.queueHead = 0;
    return all;
  }
}
