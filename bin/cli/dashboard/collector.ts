import { monotonicMs, wallClockMs } from '../../../lib/base/clock';
import { EventEmitter } from 'node:events';
import { MembershipView, readJournal, readServiceNode, servicePaths } from '../../../lib/coordination';
import type { Member, ServiceMode, ServicePaths } from '../../../lib/coordination';
import type { FaultReport } from '../../../lib/base/fault-report';
import { ZkError, ZkSession } from '../../../lib/zk';
import { httpGet } from '../http-get';

/** How long one probe request may take, all of it (not an idle timeout: a trickling answer ends too). */
const PROBE_DEADLINE_MS = 800;

/** One member as the page shows it. */
export interface MemberView {
  readonly node: string;
  readonly sequence: number;
  readonly id: string;
  readonly url: string;
  readonly http: string | null;
  readonly zone: string | null;
  readonly weight: number;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  /** From the member's own /primary: its role, and whether it holds the lease ("holds"), null when unreachable. */
  readonly role: string | null;
  readonly lease: 'holds' | 'lapsed' | 'none' | null;
  readonly session: string | null;
  /** Server-side calls per second from its /metrics, null without metrics. */
  readonly callsPerSec: number | null;
}

export interface ServiceView {
  readonly service: string;
  readonly mode: ServiceMode | null;
  readonly members: readonly MemberView[];
  readonly primary: string | null;
  readonly epoch: number | null;
  /** Primary changes, oldest first: seeded from the journal's "elected" reports, then observed live. */
  readonly timeline: readonly { at: number; epoch: number | null; member: string | null }[];
  readonly journal: readonly FaultReport[];
  readonly error: string | null;
}

export interface DashboardState {
  readonly root: string;
  readonly at: number;
  readonly zookeeper: string;
  readonly services: readonly ServiceView[];
}

interface Probe { role: string | null; lease: MemberView['lease']; session: string | null; calls: number | null; callsAt: number; rate: number | null }

const TIMELINE_MAX = 50;

/**
 * Watches the services under a root for the dashboard: membership through MembershipView (the same
 * parsing as clients), the fault journal, and each member's own HTTP endpoints (/primary for role
 * and lease, /metrics for call rates) when its record names them. Emits 'change' (throttled by the
 * caller) whenever anything shown changes.
 */
export class DashboardCollector extends EventEmitter<{ change: [] }> {
  private readonly views = new Map<string, { view: MembershipView; paths: ServicePaths; mode: ServiceMode | null; timeline: ServiceView['timeline'][number][]; journal: FaultReport[]; error: string | null }>();
  private readonly probes = new Map<string, Probe>();
  /** Members whose probe is under way. */
  private readonly probing = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly session: ZkSession, private readonly root: string, private readonly only: readonly string[] | undefined) {
    super();
  }

  async start(): Promise<void> {
    await this.discover();
    if (this.stopped) return; // stopped during the first discovery: no timers to leave behind
    this.timers.push(setInterval(() => void this.discover(), 5000));
    this.timers.push(setInterval(() => void this.refreshJournals(), 2000));
    this.timers.push(setInterval(() => void this.probeMembers(), 1000));
    void this.refreshJournals();
    void this.probeMembers();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const v of this.views.values()) v.view.stop();
  }

  state(): DashboardState {
    const services: ServiceView[] = [];
    for (const [service, v] of [...this.views].sort(([a], [b]) => a.localeCompare(b))) {
      const snapshot = v.view.snapshot;
      const members = snapshot.members.map((m) => this.memberView(m));
      const primary = v.mode === 'primary-backup' && snapshot.leader ? snapshot.leader.record.id : null;
      services.push({
        service, mode: v.mode, members, primary,
        epoch: v.mode === 'primary-backup' && snapshot.leader ? snapshot.leader.sequence : null,
        timeline: v.timeline, journal: v.journal, error: v.error,
      });
    }
    return { root: this.root, at: wallClockMs(), zookeeper: this.session.state, services };
  }

  private memberView(m: Member): MemberView {
    const r = m.record;
    const p = this.probes.get(m.path);
    return {
      node: m.name, sequence: m.sequence, id: r.id, url: r.url, http: r.http ?? null, zone: r.zone ?? null, weight: r.weight,
      pid: r.pid, host: r.host, startedAt: r.startedAt,
      role: p?.role ?? null, lease: p?.lease ?? null, session: p?.session ?? null, callsPerSec: p?.rate ?? null,
    };
  }

  private async discover(): Promise<void> {
    if (this.stopped) return;
    let names: string[];
    try {
      names = this.only ? [...this.only] : (await this.session.children(this.root)).children;
    } catch (error) {
      if (error instanceof ZkError) return; // shown as the ZooKeeper state; tried again
      throw error;
    }
    for (const service of names) {
      if (this.views.has(service)) continue;
      let paths: ServicePaths;
      try {
        paths = servicePaths(service, this.root);
      } catch {
        continue; // not a service name zk-ha would use
      }
      let mode: ServiceMode | null = null;
      try {
        mode = (await readServiceNode(this.session, paths)).mode;
      } catch {
        mode = null;
      }
      const view = new MembershipView(this.session, service, { root: this.root });
      const entry = { view, paths, mode, timeline: [] as ServiceView['timeline'][number][], journal: [] as FaultReport[], error: null as string | null };
      this.views.set(service, entry);
      view.on('error', (e) => { entry.error = String((e as Error)?.message ?? e); this.emit('change'); });
      view.on('change', () => { entry.error = null; this.emit('change'); });
      view.on('leader', ({ member, epoch }) => {
        if (entry.mode !== 'primary-backup') return;
        entry.timeline.push({ at: wallClockMs(), epoch: epoch ?? null, member: member?.record.id ?? null });
        if (entry.timeline.length > TIMELINE_MAX) entry.timeline.splice(0, entry.timeline.length - TIMELINE_MAX);
        this.emit('change');
      });
      view.on('invalid', () => undefined);
      // Not awaited: a service this session may not read (an ACL denying READ on members/) keeps
      // its view retrying for ever; its error shows on the page, the other services go on.
      view.start().then(() => this.emit('change'), () => undefined);
    }
  }

  private async refreshJournals(): Promise<void> {
    for (const v of this.views.values()) {
      if (this.stopped) return;
      try {
        const journal = await readJournal(this.session, v.paths, 30);
        const before = v.journal;
        v.journal = journal;
        const changed = JSON.stringify(journal) !== JSON.stringify(before);
        if (v.timeline.length === 0 && v.mode === 'primary-backup') {
          // Seed the timeline with the primaries the journal remembers.
          const elected = journal.filter((r) => r.kind === 'elected').reverse();
          v.timeline.push(...elected.map((r) => ({ at: r.at, epoch: typeof r.detail?.epoch === 'number' ? r.detail.epoch : null, member: r.member ?? null })));
        }
        if (changed) this.emit('change');
      } catch {
        // NO_NODE (no journal yet) or ZooKeeper away: keep the last one.
      }
    }
  }

  private async probeMembers(): Promise<void> {
    const seen = new Set<string>();
    await Promise.all([...this.views.values()].flatMap((v) => v.view.snapshot.members.map(async (m) => {
      seen.add(m.path);
      const base = m.record.http;
      // One probe per member at a time: a member that answers slowly is skipped, not piled up.
      if (!base || this.probing.has(m.path)) return;
      this.probing.add(m.path);
      try {
        await this.probe(m.path, new URL(base).origin);
      } finally {
        this.probing.delete(m.path);
      }
    })));
    for (const k of this.probes.keys()) if (!seen.has(k)) this.probes.delete(k);
  }

  /** Asks one member's /primary and /metrics (its record's `http` base: an origin, nothing else). */
  private async probe(path: string, origin: string): Promise<void> {
    const before = JSON.stringify(this.probes.get(path) ?? null);
    const prev = this.probes.get(path);
    const p: Probe = prev ?? { role: null, lease: null, session: null, calls: null, callsAt: 0, rate: null };
    const status = await httpGet(`${origin}/primary`, PROBE_DEADLINE_MS);
    if (status) {
      try {
        const body = JSON.parse(status.body) as { role?: unknown; primary?: unknown; session?: { state?: unknown } };
        p.role = typeof body.role === 'string' ? body.role : null;
        p.lease = body.primary === true ? 'holds' : body.role === 'primary' ? 'lapsed' : 'none';
        p.session = typeof body.session?.state === 'string' ? body.session.state : null;
      } catch {
        p.role = null;
      }
    } else {
      p.role = null;
      p.lease = null;
      p.session = null;
    }
    const metrics = await httpGet(`${origin}/metrics`, PROBE_DEADLINE_MS);
    if (metrics && metrics.status === 200) {
      const total = serverCalls(metrics.body);
      const now = monotonicMs();
      if (p.calls !== null && now > p.callsAt) p.rate = Math.max(0, ((total - p.calls) * 1000) / (now - p.callsAt));
      p.calls = total;
      p.callsAt = now;
    } else {
      p.rate = null;
    }
    this.probes.set(path, p);
    if (JSON.stringify(p) !== before) this.emit('change');
  }
}

/** Sum of zkha_calls_total{role="server"} samples in a Prometheus text exposition. */
export function serverCalls(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!/^\w*calls_total\{/.test(line) || !line.includes('role="server"')) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) n += v;
  }
  return n;
}
