import { nonEmptyString } from '../base/options';
import type { EjectionGuard, HealthOptions, HealthState, HealthTransition, ResolvedHealthOptions } from './endpoint-health';
import { EndpointHealth, resolveHealthOptions } from './endpoint-health';

export interface HealthEvent extends HealthTransition {
  id: string;
}

/**
 * The health of one service's endpoints, and the rule that keeps outlier ejection from emptying
 * the pool (Envoy `max_ejection_percent`, used as a panic threshold):
 *
 *   an outlier ejection is allowed only if, after it, at most floor(size × maxEjectedPercent / 100)
 *   endpoints are out of rotation (ejected or probing, for any reason).
 *
 * So with the default 50%, one of two or three endpoints can be ejected, two of four; a single
 * endpoint is never ejected for failing calls (routing to a failing endpoint beats routing to
 * none; Envoy's "always eject one host" is deliberately not copied). Endpoints the transport
 * marked down count towards the limit but are never held back by it — a dead connection is a
 * fact, not a judgement. A vetoed ejection leaves the endpoint healthy and is counted in
 * `suppressedEjections`; the next failure asks again.
 *
 * Route calls through the set's methods (or the `EndpointHealth` objects it hands out); they
 * return a transition with the endpoint id for fault reports. Build pickers from
 * `filterServing()`; send a probe call where `acquireProbe()` says.
 */
export class HealthSet {
  readonly options: ResolvedHealthOptions;
  private readonly members = new Map<string, EndpointHealth>();
  private suppressed = 0;
  private readonly guard: EjectionGuard;

  constructor(opts: HealthOptions = {}) {
    this.options = resolveHealthOptions(opts);
    this.guard = { mayEject: () => this.mayEject() };
  }

  get size(): number {
    return this.members.size;
  }

  /** Ejections refused by the max-ejected-percent rule so far. */
  get suppressedEjections(): number {
    return this.suppressed;
  }

  /** The health of `id`, created healthy on first use. */
  add(id: string): EndpointHealth {
    let h = this.members.get(id);
    if (!h) {
      nonEmptyString('id', id);
      h = new EndpointHealth(this.options, this.guard);
      this.members.set(id, h);
    }
    return h;
  }

  get(id: string): EndpointHealth | undefined {
    return this.members.get(id);
  }

  remove(id: string): boolean {
    return this.members.delete(id);
  }

  /** Drops every endpoint whose id is not in `ids` (after a membership change). */
  retain(ids: Iterable<string>): void {
    const keep = new Set(ids);
    for (const id of this.members.keys()) if (!keep.has(id)) this.members.delete(id);
  }

  ids(): IterableIterator<string> {
    return this.members.keys();
  }

  /** Endpoints out of rotation (ejected or probing). O(n), no clock needed. */
  outOfRotation(): number {
    let count = 0;
    for (const h of this.members.values()) if (!h.serving) count++;
    return count;
  }

  state(id: string, nowMs: number): HealthState | undefined {
    return this.members.get(id)?.state(nowMs);
  }

  /** The endpoints to build a picker from: those healthy, or not tracked yet. */
  filterServing<T extends { readonly id: string }>(endpoints: readonly T[]): T[] {
    return endpoints.filter((ep) => this.members.get(ep.id)?.serving !== false);
  }

  onSuccess(id: string, nowMs: number): HealthEvent | undefined {
    return withId(id, this.add(id).onSuccess(nowMs));
  }

  onFailure(id: string, nowMs: number): HealthEvent | undefined {
    return withId(id, this.add(id).onFailure(nowMs));
  }

  markDown(id: string, nowMs: number, reason: string): HealthEvent | undefined {
    return withId(id, this.add(id).markDown(nowMs, reason));
  }

  markUp(id: string, nowMs: number): HealthEvent | undefined {
    return withId(id, this.add(id).markUp(nowMs));
  }

  /** An endpoint that is probing and whose probe slot this call now holds, if any. */
  acquireProbe(nowMs: number, avoid?: ReadonlySet<string>): string | undefined {
    for (const [id, h] of this.members) {
      if (!h.serving && avoid?.has(id) !== true && h.tryAcquireProbe(nowMs)) return id;
    }
    return undefined;
  }

  /**
   * The earliest time after `nowMs` an ejected endpoint becomes probeable (to schedule a timer), if
   * any. Ejections already over are left out: their endpoints are probing, and a timer for a past
   * time would fire again at once, for ever, on a client with no traffic to take the probe.
   */
  nextProbeAt(nowMs: number): number | undefined {
    let earliest: number | undefined;
    for (const h of this.members.values()) {
      const until = h.ejectedUntilMs;
      if (until !== undefined && until > nowMs && (earliest === undefined || until < earliest)) earliest = until;
    }
    return earliest;
  }

  private mayEject(): boolean {
    const allowed = Math.floor((this.members.size * this.options.maxEjectedPercent) / 100);
    if (this.outOfRotation() + 1 <= allowed) return true;
    this.suppressed++;
    return false;
  }
}

function withId(id: string, t: HealthTransition | undefined): HealthEvent | undefined {
  return t === undefined ? undefined : { id, ...t };
}
