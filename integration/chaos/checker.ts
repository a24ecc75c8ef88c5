import { checkDurability } from './durability';
import type { DurabilityKind } from './durability';
import type { ClientCall, History, ServerRun } from './history';

/**
 * The split-brain and duplicate-execution checker. It judges a recorded history only; it knows
 * nothing of how the history was produced, so its unit tests feed it hand-made ones.
 *
 *   split-brain         handler runs of different epochs overlap in time, a lower epoch runs
 *                       after a higher one has started, or two processes ran under one epoch
 *   unfenced-run        a handler ran with no epoch (primary/backup: the lease guard must stamp one)
 *   ack-mismatch        a call the client saw succeed did not run exactly once under the epoch
 *                       its response carried (or the response carried none)
 *   duplicate-execution a non-idempotent call ran more than once, or an idempotent one did
 *                       without being retried or hedged (attempts > 1)
 *   executed-not-reported
 *                       a call failed with notExecuted: true (the caller is told it did not run),
 *                       but a server ran it
 *   epoch-regression    a client accepted a response whose epoch is below one it accepted earlier
 *   not-rejoined        after the fault healed, a member did not come back (or a stale node
 *                       stayed), or a call failed
 *   lost-ack, applied-twice, phantom-write, divergence
 *                       replicated state (when the history has the members' states): see durability.ts
 */
export type ViolationKind =
  | 'split-brain' | 'unfenced-run' | 'ack-mismatch' | 'duplicate-execution' | 'executed-not-reported' | 'epoch-regression' | 'not-rejoined'
  | DurabilityKind;

export const VIOLATION_KINDS: readonly ViolationKind[] = [
  'split-brain', 'unfenced-run', 'ack-mismatch', 'duplicate-execution', 'executed-not-reported', 'epoch-regression', 'not-rejoined',
  'lost-ack', 'applied-twice', 'phantom-write', 'divergence',
];

export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
  /** The runs and calls that show it (an excerpt of the history). */
  readonly evidence: readonly (ServerRun | ClientCall)[];
}

export interface CheckOptions {
  /**
   * Responses completed within this many ns of each other may be accepted in either order: the
   * client fences at accept time, but its callers resume in microtask order, which need not match.
   * Default 2 ms.
   */
  readonly sameTurnNs?: bigint;
}

export interface CheckResult {
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  readonly splitBrain: boolean;
  /** Runs beyond the one allowed, over all calls that broke the exactly-once rules. */
  readonly duplicateExecutions: number;
}

export function checkHistory(history: History, options: CheckOptions = {}): CheckResult {
  const violations: Violation[] = [
    ...checkEpochs(history.runs),
    ...checkCalls(history),
    ...checkClientEpochs(history.calls, options.sameTurnNs ?? 2_000_000n),
    ...checkRecovery(history),
    ...(history.states ? checkDurability(history.calls, history.states) : []),
  ];
  const duplicateExecutions = violations
    .filter((v) => v.kind === 'duplicate-execution')
    .reduce((n, v) => n + v.evidence.filter(isRun).length - 1, 0);
  return {
    ok: violations.length === 0,
    violations,
    splitBrain: violations.some((v) => v.kind === 'split-brain' || v.kind === 'unfenced-run'),
    duplicateExecutions,
  };
}

function isRun(e: ServerRun | ClientCall): e is ServerRun {
  return (e as ServerRun).t0 !== undefined;
}

interface EpochSpan {
  readonly epoch: number;
  readonly first: ServerRun;
  /** The run that ended last. */
  readonly last: ServerRun;
  readonly runs: ServerRun[];
  readonly servers: Set<string>;
}

/** No split brain: each epoch's runs come from one process, and epochs follow each other in time without overlap. */
export function checkEpochs(runs: readonly ServerRun[]): Violation[] {
  const out: Violation[] = [];
  const spans = new Map<number, EpochSpan>();
  for (const run of runs) {
    if (run.epoch === undefined) {
      out.push({ kind: 'unfenced-run', message: `${run.server} ran ${run.callId} with no epoch`, evidence: [run] });
      continue;
    }
    let span = spans.get(run.epoch);
    if (!span) {
      span = { epoch: run.epoch, first: run, last: run, runs: [], servers: new Set() };
      spans.set(run.epoch, span);
    }
    span.runs.push(run);
    span.servers.add(run.server);
    if (run.t0 < span.first.t0) (span as { first: ServerRun }).first = run;
    if (run.t1 > span.last.t1) (span as { last: ServerRun }).last = run;
  }
  for (const span of spans.values()) {
    if (span.servers.size > 1) {
      const evidence = [...span.servers].map((s) => span.runs.find((r) => r.server === s)!);
      out.push({ kind: 'split-brain', message: `epoch ${span.epoch} ran on ${span.servers.size} processes: ${[...span.servers].join(', ')}`, evidence });
    }
  }
  // From the highest epoch down: the earliest start of any higher epoch bounds every lower one.
  const ordered = [...spans.values()].sort((a, b) => b.epoch - a.epoch);
  let higher: EpochSpan | undefined;
  for (const span of ordered) {
    if (higher && span.last.t1 > higher.first.t0) {
      const late = span.runs.filter((r) => r.t1 > higher!.first.t0).sort((a, b) => (a.t0 < b.t0 ? -1 : 1));
      const after = late.some((r) => r.t0 >= higher!.first.t0);
      out.push({
        kind: 'split-brain',
        message: after
          ? `epoch ${span.epoch} (${span.last.server}) ran ${late.length} call(s) after epoch ${higher.epoch} (${higher.first.server}) had started`
          : `epoch ${span.epoch} (${span.last.server}) overlaps epoch ${higher.epoch} (${higher.first.server}) by ${(span.last.t1 - higher.first.t0).toString()} ns`,
        evidence: [higher.first, ...late.slice(0, 5)],
      });
    }
    if (!higher || span.first.t0 < higher.first.t0) higher = span;
  }
  return out;
}

/** Exactly-once for acknowledged calls; at most once for non-idempotent ones; more only when retried. */
function checkCalls(history: History): Violation[] {
  const out: Violation[] = [];
  const runsByCall = new Map<string, ServerRun[]>();
  for (const run of history.runs) {
    const list = runsByCall.get(run.callId);
    if (list) list.push(run);
    else runsByCall.set(run.callId, [run]);
  }
  for (const call of history.calls) {
    const runs = runsByCall.get(call.callId) ?? [];
    if (call.outcome === 'ok') {
      const matching = runs.filter((r) => r.epoch === call.epoch);
      // A retried idempotent call may have run again under the same epoch (its first answer was lost).
      const allowed = call.idempotent && (call.attempts ?? 2) > 1 ? Number.POSITIVE_INFINITY : 1;
      if (call.epoch === undefined || matching.length === 0 || matching.length > allowed) {
        out.push({
          kind: 'ack-mismatch',
          message: `${call.client} saw ${call.callId} succeed under epoch ${String(call.epoch)}, which ran it ${matching.length} time(s) (${runs.length} run(s) in all)`,
          evidence: [call, ...runs],
        });
      }
    }
    if (call.outcome === 'error' && call.notExecuted === true && runs.length > 0) {
      out.push({
        kind: 'executed-not-reported',
        message: `${call.client} was told ${call.callId} did not run (${call.code ?? '?'}, notExecuted), but it ran ${runs.length} time(s)`,
        evidence: [call, ...runs],
      });
    }
    if (runs.length > 1) {
      const retried = call.idempotent && (call.attempts === undefined || call.attempts > 1);
      if (!retried) {
        out.push({
          kind: 'duplicate-execution',
          message: `${call.idempotent ? 'idempotent call, not retried,' : 'non-idempotent call'} ${call.callId} ran ${runs.length} times`,
          evidence: [call, ...runs],
        });
      }
    }
  }
  return out;
}

/** Per client, in order of completion: a response is never accepted below an epoch accepted before it. */
function checkClientEpochs(calls: readonly ClientCall[], sameTurnNs: bigint): Violation[] {
  const out: Violation[] = [];
  const byClient = new Map<string, ClientCall[]>();
  for (const c of calls) {
    if (c.outcome !== 'ok' || c.epoch === undefined) continue;
    const list = byClient.get(c.client);
    if (list) list.push(c);
    else byClient.set(c.client, [c]);
  }
  for (const [client, list] of byClient) {
    list.sort((a, b) => (a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
    let j = 0;
    let best: ClientCall | undefined;
    for (const c of list) {
      while (j < list.length && list[j]!.end + sameTurnNs < c.end) {
        if (!best || list[j]!.epoch! > best.epoch!) best = list[j];
        j++;
      }
      if (best && c.epoch! < best.epoch!) {
        out.push({ kind: 'epoch-regression', message: `${client} accepted epoch ${c.epoch} (${c.callId}) after epoch ${best.epoch} (${best.callId})`, evidence: [best, c] });
      }
    }
  }
  return out;
}

function checkRecovery(history: History): Violation[] {
  const r = history.recovery;
  if (!r) return [];
  const problems: string[] = [];
  if (r.rejoinedAt === undefined) problems.push('the group never came back whole');
  const missing = r.expectedMembers.filter((m) => !r.membersAfter.includes(m));
  if (missing.length > 0) problems.push(`missing member(s): ${missing.join(', ')}`);
  const extra = r.membersAfter.length - new Set(r.membersAfter).size;
  if (extra > 0) problems.push(`${extra} stale node(s) left: ${r.membersAfter.join(', ')}`);
  if (!r.probesOk) problems.push('calls after the rejoin failed');
  return problems.length === 0 ? [] : [{ kind: 'not-rejoined', message: problems.join('; '), evidence: [] }];
}
