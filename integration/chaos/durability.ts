import type { ClientCall } from './history';

/** One member's copy of the replicated state at the end of a trial (chaos worker "dump"). */
export interface MemberState {
  /** Member id + pid. */
  readonly server: string;
  /** Its replica key, and whether the in-sync set names it. */
  readonly key: string;
  readonly inSync: boolean;
  readonly primary: boolean;
  /** The ids (callIds) it has applied, in order. */
  readonly ids: readonly string[];
}

export type DurabilityKind = 'lost-ack' | 'phantom-write' | 'applied-twice' | 'divergence';

export interface DurabilityViolation {
  readonly kind: DurabilityKind;
  readonly message: string;
  readonly evidence: readonly ClientCall[];
}

/**
 * The durability checker of replicated state (issue 17). Clients write unique ids (acknowledged
 * or not); at the end:
 *   lost-ack       an acknowledged id is not in the primary's state
 *   applied-twice  an id is in the primary's state more than once
 *   phantom-write  an id in the state was never sent by any client
 *   divergence     an in-sync member's state differs from the primary's, or any member's state is
 *                  not a prefix of it (members apply the same ops in the same order)
 */
export function checkDurability(calls: readonly ClientCall[], states: readonly MemberState[]): DurabilityViolation[] {
  const primaries = states.filter((s) => s.primary);
  if (primaries.length !== 1) {
    return [{ kind: 'divergence', message: `expected one serving primary at the end, found ${primaries.length}`, evidence: [] }];
  }
  const p = primaries[0]!;
  const out: DurabilityViolation[] = [];
  const count = new Map<string, number>();
  for (const id of p.ids) count.set(id, (count.get(id) ?? 0) + 1);
  const lost = calls.filter((c) => c.outcome === 'ok' && !count.has(c.callId));
  if (lost.length > 0) out.push({ kind: 'lost-ack', message: `${lost.length} acknowledged id(s) missing from the primary ${p.server}: ${lost.slice(0, 5).map((c) => c.callId).join(', ')}`, evidence: lost.slice(0, 10) });
  const twice = [...count].filter(([, n]) => n > 1).map(([id]) => id);
  if (twice.length > 0) out.push({ kind: 'applied-twice', message: `${twice.length} id(s) applied more than once: ${twice.slice(0, 5).join(', ')}`, evidence: calls.filter((c) => twice.includes(c.callId)).slice(0, 10) });
  const sent = new Set(calls.map((c) => c.callId));
  const phantom = p.ids.filter((id) => !sent.has(id));
  if (phantom.length > 0) out.push({ kind: 'phantom-write', message: `${phantom.length} id(s) never sent: ${phantom.slice(0, 5).join(', ')}`, evidence: [] });
  for (const s of states) {
    if (s === p) continue;
    const diverges = s.inSync ? !sameList(s.ids, p.ids) : !isPrefix(s.ids, p.ids);
    if (diverges) {
      const at = firstDifference(s.ids, p.ids);
      out.push({
        kind: 'divergence',
        message: `${s.server}${s.inSync ? ' (in sync)' : ''} holds ${s.ids.length} id(s), the primary ${p.ids.length}; first difference at ${at}: ${s.ids[at] ?? '(none)'} vs ${p.ids[at] ?? '(none)'}`,
        evidence: [],
      });
    }
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && isPrefix(a, b);
}

function isPrefix(a: readonly string[], b: readonly string[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
