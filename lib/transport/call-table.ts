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
    /** A second signal that cancels the call (CallOptions.alsoCancelOn). */
    readonly signal2?: AbortSignal,
  ) {}
}

/** First size of the slot array (a power of two). */
const MIN_SLOTS = 64;

/**
 * The client's table of outstanding calls by id, and the local queue of calls not yet written
 * (the socket was over its high-water mark). Knows nothing of sockets.
 *
 * Calls sit in an array slot, `id & mask`: ids are handed out so that no two live calls share a
 * slot (an id whose slot is taken is skipped), and the array doubles before it is half full, so
 * a call costs an index instead of a Map's hashing on add, take and id allocation.
 */
export class CallTable {
  private slots: (PendingCall | undefined)[] = new Array<PendingCall | undefined>(MIN_SLOTS).fill(undefined);
  private mask = MIN_SLOTS - 1;
  private count = 0;
  private queue: PendingCall[] = [];
  private queueHead = 0;
  private nextId = 1;

  /** Calls not yet settled (including those queued locally). */
  get size(): number {
    return this.count;
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

  /** An id no outstanding call has, whose slot is free (valid until the next `add`). */
  allocateId(): number {
    if (this.count * 2 >= this.slots.length) this.grow();
    let id = this.nextId;
    // At most half the slots are taken, so a free one is near; ids wrap at MAX_CALL_ID.
    while (this.slots[id & this.mask] !== undefined) id = id >= MAX_CALL_ID ? 1 : id + 1;
    this.nextId = id >= MAX_CALL_ID ? 1 : id + 1;
    return id;
  }

  /** Registers a call whose id came from `allocateId`. */
  add(call: PendingCall): void {
    this.slots[call.id & this.mask] = call;
    this.count++;
  }

  enqueue(call: PendingCall, frame: Buffer): void {
    call.frame = frame;
    this.queue.push(call);
  }

  /** The next queued call still waiting to be written, taken off the queue; undefined when empty. */
  nextQueued(): PendingCall | undefined {
    while (this.queueHead < this.queue.length) {
      const call = this.queue[this.queueHead++]!;
      if (call.frame !== undefined && this.slots[call.id & this.mask] === call) return call;
    }
    this.queue = [];
    this.queueHead = 0;
    return undefined;
  }

  /** Removes a call from the table; undefined if it was already settled (or never existed). */
  take(id: number): PendingCall | undefined {
    const slot = id & this.mask;
    const call = this.slots[slot];
    if (call === undefined || call.id !== id) return undefined;
    this.slots[slot] = undefined;
    this.count--;
    if (call.onAbort !== undefined) {
      call.signal?.removeEventListener('abort', call.onAbort);
      call.signal2?.removeEventListener('abort', call.onAbort);
    }
    call.frame = undefined;
    return call;
  }

  /** Takes every call past its deadline and hands it to `expired`; returns the earliest deadline left. */
  expire(now: number, expired: (call: PendingCall) => void): number {
    let next = Infinity;
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const call = slots[i];
      if (call === undefined) continue;
      if (call.deadline <= now) {
        this.take(call.id);
        expired(call);
      } else if (call.deadline < next) {
        next = call.deadline;
      }
    }
    return next;
  }

  /** Takes every call (and empties the queue), oldest id first. */
  takeAll(): PendingCall[] {
    const all = this.live();
    for (const call of all) this.take(call.id);
    this.slots = new Array<PendingCall | undefined>(MIN_SLOTS).fill(undefined);
    this.mask = MIN_SLOTS - 1;
    this.queue = [];
    this.queueHead = 0;
    return all;
  }

  /** The outstanding calls, in the order their ids were handed out. */
  private live(): PendingCall[] {
    const all: PendingCall[] = [];
    for (const call of this.slots) if (call !== undefined) all.push(call);
    // Ids go up (wrapping) from nextId's last lap: order by distance behind nextId.
    const next = this.nextId;
    const age = (id: number): number => (next - id + MAX_CALL_ID) % MAX_CALL_ID;
    return all.sort((a, b) => age(b.id) - age(a.id));
  }

  /** Doubles the slot array; live ids keep distinct slots (their low bits already differ). */
  private grow(): void {
    const slots = new Array<PendingCall | undefined>(this.slots.length * 2).fill(undefined);
    const mask = slots.length - 1;
    for (const call of this.slots) if (call !== undefined) slots[call.id & mask] = call;
    this.slots = slots;
    this.mask = mask;
  }
}
