/**
 * What a chaos trial records: every handler run on every server and every call every client
 * made, with times on process.hrtime.bigint() (CLOCK_MONOTONIC, comparable across processes on
 * one machine), plus how the group recovered after the fault healed.
 */

import type { MemberState } from './durability';

/** One handler run, as a server logged it. */
export interface ServerRun {
  /** The server process that ran it (member id + pid: a restarted member is another process). */
  readonly server: string;
  readonly callId: string;
  /** The epoch the lease guard admitted it under; undefined = admitted without one. */
  readonly epoch: number | undefined;
  readonly t0: bigint;
  readonly t1: bigint;
}

/** One call, as a client saw it. */
export interface ClientCall {
  readonly client: string;
  readonly callId: string;
  readonly idempotent: boolean;
  readonly start: bigint;
  readonly end: bigint;
  readonly outcome: 'ok' | 'error';
  /** ok: the epoch its response carried. */
  readonly epoch?: number;
  /** ok: HaCallResult.attempts. Unknown for failed calls (the error does not carry it). */
  readonly attempts?: number;
  readonly member?: string;
  /** error: its code and whether the client knows it never ran. */
  readonly code?: string;
  readonly notExecuted?: boolean;
}

/** After the fault healed: did every member come back, and did calls succeed again? */
export interface Recovery {
  readonly healedAt: bigint;
  /** When every expected member was in the group (and a primary serving); undefined = never. */
  readonly rejoinedAt: bigint | undefined;
  readonly expectedMembers: readonly string[];
  /** Member ids in the group at the end, one per node (a duplicate id = a stale node). */
  readonly membersAfter: readonly string[];
  /** Calls made after the rejoin, one per client: all must succeed. */
  readonly probesOk: boolean;
}

export interface History {
  readonly runs: readonly ServerRun[];
  readonly calls: readonly ClientCall[];
  readonly recovery?: Recovery;
  /** When the fault and heal actions happened (hrtime ns), to read a violation against. */
  readonly marks?: readonly { readonly what: string; readonly at: bigint }[];
  /** Replicated state: every live member's copy at the end (judged by the durability checker). */
  readonly states?: readonly MemberState[];
}
