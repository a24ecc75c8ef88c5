import { monotonicMs } from '../../../lib/base/clock';
import { isIP } from 'node:net';
import type { Member, MembershipSnapshot, ServiceMode } from '../../../lib/coordination';
import { defaultServerOptions } from './config';
import { HaproxyCheckTarget, HaproxyServer, RuntimeApi } from './runtime-api';
import { SaidOnce } from './said-once';
import { httpGet } from '../http-get';

export interface BridgeOptions {
  readonly api: RuntimeApi;
  readonly backend: string;
  readonly mode: ServiceMode;
  /** Only servers whose names start with this are managed; others in the backend are left alone. Default "zkha-". */
  readonly prefix?: string;
  /** Every action taken, for the log. */
  readonly log?: (line: BridgeLogLine) => void;
  /** Server keywords for added servers (checks); default defaultServerOptions(). */
  readonly serverOptions?: string;
  /** How long to poll a new server's check endpoint before leaving it to HAProxy's own checks. Default 60 000. */
  readonly promoteWithinMs?: number;
}

export interface BridgeLogLine {
  readonly action: 'add' | 'remove' | 'promote' | 'weight' | 'health-up' | 'error';
  readonly server: string;
  readonly detail?: string;
}

/** The backend server one member should be. */
interface Desired {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly backup: boolean;
  readonly weight: number;
  /** Health-check port when the member serves HTTP on a port of its own. */
  readonly checkPort: number | undefined;
  /** Health-check address when the member serves HTTP on an address of its own (canonical IP). */
  readonly checkAddr: string | undefined;
  /** The member's check URL: /primary (primary/backup) or /readyz (redundant). */
  readonly checkUrl: string;
}

/**
 * Keeps an HAProxy backend in step with a service group through the Runtime API. Primary/backup:
 * the primary is an active server and every other member a `backup` server; redundant: every member
 * active with its weight. Servers are added in the "down" health state so that HAProxy routes to a
 * member only once its own check passes (/primary or /readyz, see docs/haproxy.md) — or once this
 * bridge has seen that check answer 200 itself, which saves the wait for HAProxy's next check. A
 * departed member is put in maintenance and its sessions shut at once (ZooKeeper knew before the
 * checks did), then deleted. HAProxy's checks remain the guard: a demoted or frozen primary fails
 * /primary, so HAProxy never routes to it whatever this bridge does or misses.
 */
export class HaproxyBridge {
  private readonly prefix: string;
  private readonly promoteWithinMs: number;
  private readonly serverOptions: string;
  private latest: MembershipSnapshot | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  /** Readiness polls under way, by server name (a token each: a replaced server's poll ends). */
  private readonly polling = new Map<string, object>();
  /** The last error logged per server, so that a member refused on every sync is logged once. */
  private readonly lastError = new SaidOnce();
  /** The last answer to a refused `del server`, per server. */
  private readonly lastRefusal = new SaidOnce();
  /** Servers whose role change waits for their sessions to end (said once each). */
  private readonly keptServing = new SaidOnce();
  /** The service generation the backend's servers belong to (undefined until one is seen). */
  private generation: string | undefined;
  /** The last error of a whole sync (HAProxy unreachable, say), logged once until it changes or a sync succeeds. */
  private lastSyncError: string | undefined;
  private stopped = false;

  constructor(private readonly options: BridgeOptions) {
    this.prefix = options.prefix ?? 'zkha-';
    this.promoteWithinMs = options.promoteWithinMs ?? 60_000;
    this.serverOptions = options.serverOptions ?? defaultServerOptions();
    const owned = ownedServerKeyword(this.serverOptions);
    if (owned !== undefined) throw new TypeError(`serverOptions: "${owned}" is set by the bridge from each member's record`);
  }

  /** Applies a snapshot (the newest wins if several arrive during one sync). Never rejects. */
  sync(snapshot?: MembershipSnapshot): Promise<void> {
    if (snapshot) this.latest = snapshot;
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.rerun = false;
        const s = this.latest;
        if (s) {
          await this.apply(s).then(() => { this.lastSyncError = undefined; }, (error: unknown) => {
            const message = String((error as Error)?.message ?? error);
            if (message === this.lastSyncError) return;
            this.lastSyncError = message;
            this.log('error', '-', message);
          });
        }
      } while (this.rerun && !this.stopped);
    })().finally(() => { this.running = undefined; });
    return this.running;
  }

  stop(): void {
    this.stopped = true;
  }

  private async apply(snapshot: MembershipSnapshot): Promise<void> {
    const { api, backend } = this.options;
    const desired = new Map<string, Desired>();
    snapshot.members.forEach((m, i) => {
      const d = this.desiredOf(m, i === 0);
      if (d) desired.set(d.name, d);
    });
    const current = new Map<string, HaproxyServer>();
    for (const s of await api.servers(backend)) if (s.name.startsWith(this.prefix)) current.set(s.name, s);
    const checks = current.size > 0 ? await api.checkTargets(backend) : new Map<string, HaproxyCheckTarget>();
    // Said once per server: forget what concerns servers that are neither wanted nor there.
    const named = new Set(snapshot.members.map((m) => `${this.prefix}${m.sequence}`));
    const keep = (name: string): boolean => current.has(name) || named.has(name);
    this.lastError.prune(keep);
    this.lastRefusal.prune(keep);
    // A new generation (members/ created again: ZooKeeper lost its data, or the service was
    // re-created) numbers its members from the start again, so a server's name may now stand for
    // another member: every server is re-created, none keeps the health state of the one before.
    const generationChanged = snapshot.generation !== '' && this.generation !== undefined && snapshot.generation !== this.generation;
    if (snapshot.generation !== '') this.generation = snapshot.generation;

    for (const [name, s] of current) {
      if (desired.has(name) && !generationChanged) continue;
      await this.isolated(name, async () => {
        if (await this.remove(name, s)) current.delete(name);
      });
    }
    // One member HAProxy refuses (an address it will not take, say) must not keep the others out.
    for (const d of desired.values()) await this.isolated(d.name, () => this.converge(d, current.get(d.name), checks.get(d.name)));
  }

  /** Runs one member's commands; an error is logged (once per member and message) and the sync goes on. */
  private async isolated(name: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
      this.lastError.forget(name);
    } catch (error) {
      const message = String((error as Error)?.message ?? error);
      if (this.lastError.say(name, message)) this.log('error', name, message);
    }
  }

  private async converge(d: Desired, s: HaproxyServer | undefined, check: HaproxyCheckTarget | undefined): Promise<void> {
    const { api, backend } = this.options;
    if (!s) {
      await this.add(d);
      return;
    }
    // Not the server this member needs, whatever its flags: another address or check target (the
    // name now stands for another member, or the member moved), or still in maintenance (an add
    // whose enabling line never arrived — a lost answer, a bridge restarted in between — or a
    // removal of the same name still draining). Re-created, so that it starts DOWN again.
    const [host, port] = splitAddress(s.address);
    const wrongTarget = host !== d.host || port !== d.port || check?.port !== d.checkPort
      || (check?.addr === undefined ? undefined : canonicalIp(check.addr)) !== d.checkAddr;
    if (wrongTarget || s.status.startsWith('MAINT')) {
      // A removal still draining its sessions is deleted on a later sync, then added again.
      if (await this.remove(d.name, s)) await this.add(d);
      return;
    }
    if (s.backup !== d.backup) {
      // The backup flag is fixed at creation: re-create the server. A server with sessions is
      // already serving (as a backup, because no active server is up) and stays as it is.
      if (s.sessions === 0) {
        this.keptServing.forget(d.name);
        // A session that arrived in between makes HAProxy refuse the delete: added on a later sync.
        if (!(await this.remove(d.name, s))) return;
        await this.add(d);
        this.log('promote', d.name, d.backup ? 'backup' : 'active');
      } else if (this.keptServing.say(d.name, 'deferred')) {
        this.log('promote', d.name, `deferred: serving ${s.sessions} session(s) as ${s.backup ? 'a backup' : 'an active server'}; re-created once idle`);
      }
      return;
    }
    if (s.weight !== d.weight) {
      await api.expectOk(`set server ${backend}/${d.name} weight ${d.weight}`);
      this.log('weight', d.name, String(d.weight));
    }
  }

  private desiredOf(m: Member, first: boolean): Desired | undefined {
    let url: URL;
    try {
      url = new URL(m.record.url);
    } catch {
      return undefined;
    }
    const host = canonicalIp(url.hostname);
    // HAProxy's runtime API takes addresses, not names (a name is stored as an empty address, and
    // every later "set server addr" is refused): such a member is left out, said once.
    if (isIP(host) === 0) {
      const name = `${this.prefix}${m.sequence}`;
      const why = `advertises the host name "${host}": HAProxy's runtime API needs an IP address (advertiseUrl); not added`;
      if (this.lastError.say(name, why)) this.log('error', name, why);
      return undefined;
    }
    const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80));
    const primaryBackup = this.options.mode === 'primary-backup';
    const path = primaryBackup ? '/primary' : '/readyz';
    const httpBase = m.record.http ?? m.record.url.replace(/^ws/, 'http');
    let checkPort: number | undefined;
    let checkAddr: string | undefined;
    try {
      const h = new URL(httpBase);
      const p = Number(h.port || (h.protocol === 'https:' ? 443 : 80));
      if (p > 0 && p !== port) checkPort = p;
      // HTTP endpoints on an address of their own (HttpSurface listens on 127.0.0.1 by default):
      // HAProxy checks that address, the one this bridge polls, not the RPC one. A host name
      // cannot be given to HAProxy's runtime API: checked at the RPC address then.
      const httpHost = canonicalIp(h.hostname);
      if (isIP(httpHost) !== 0 && httpHost !== host) checkAddr = httpHost;
    } catch {
      checkPort = undefined;
    }
    return {
      name: `${this.prefix}${m.sequence}`,
      host,
      port,
      backup: primaryBackup && !first,
      weight: primaryBackup ? 1 : Math.max(0, Math.min(256, Math.round(m.record.weight))),
      checkPort,
      checkAddr,
      checkUrl: `${httpBase.replace(/\/$/, '')}${path}`,
    };
  }

  private async add(d: Desired): Promise<void> {
    const { api, backend } = this.options;
    const target = `${backend}/${d.name}`;
    const addr = d.host.includes(':') ? `ipv6@${d.host}` : d.host;
    const checkAddr = d.checkAddr === undefined ? '' : ` addr ${d.checkAddr.includes(':') ? `[${d.checkAddr}]` : d.checkAddr}`;
    await api.expectOk(`add server ${target} ${addr}:${d.port}${d.backup ? ' backup' : ''} check${checkAddr}${d.checkPort !== undefined ? ` port ${d.checkPort}` : ''} weight ${d.weight} ${this.serverOptions}`);
    // Down until a check passes: a new member must not get calls before it can serve them. A
    // dynamic server starts in maintenance, and leaving it resets the health to "UP 1/2" (routable
    // until checks fail), whatever was set before: so health down comes last, on the same line.
    await api.expectOk([`enable health ${target}`, `enable server ${target}`, `set server ${target} health down`]);
    this.log('add', d.name, `${d.host}:${d.port}${d.backup ? ' backup' : ''} weight ${d.weight}`);
    if (!d.backup) this.pollUntilServing(d);
  }

  /** Takes a server out (maintenance, sessions shut) and deletes it; true once it is deleted. */
  private async remove(name: string, s: HaproxyServer): Promise<boolean> {
    const { api, backend } = this.options;
    this.polling.delete(name); // its readiness poll ends at its next tick
    this.keptServing.forget(name);
    const target = `${backend}/${name}`;
    if (!s.status.startsWith('MAINT')) {
      await api.expectOk(`set server ${target} state maint`);
      await api.command(`shutdown sessions server ${target}`);
    }
    // Refused while connections remain (they are being shut): deleted on a later sync, and in
    // maintenance meanwhile, so unused.
    const answer = await api.command(`del server ${target}`);
    if (answer.startsWith('Server deleted')) {
      this.lastRefusal.forget(name);
      this.log('remove', name);
      return true;
    }
    if (this.lastRefusal.say(name, answer)) this.log('error', name, `del server: ${answer}`);
    return false;
  }

  /** Polls the member's check URL and marks the server up at the first 200, ahead of HAProxy's next check. */
  private pollUntilServing(d: Desired): void {
    if (this.polling.has(d.name)) return;
    const token = {};
    this.polling.set(d.name, token);
    const until = monotonicMs() + this.promoteWithinMs;
    // Until the server is removed (or replaced), the bridge stops, or promoteWithinMs: every 25 ms
    // at first, backing off to 1 s, so that members that never get ready cost little.
    const live = (): boolean => !this.stopped && this.polling.get(d.name) === token && monotonicMs() <= until;
    const poll = async (): Promise<void> => {
      for (let delayMs = 25; live(); delayMs = Math.min(1000, delayMs * 2)) {
        if ((await httpGet(d.checkUrl, 500))?.status === 200) {
          if (!live()) return;
          await this.options.api.expectOk(`set server ${this.options.backend}/${d.name} health up`);
          this.log('health-up', d.name, d.checkUrl);
          return;
        }
        await new Promise((r) => setTimeout(r, delayMs));
      }
    };
    void poll().catch((error: unknown) => this.log('error', d.name, String((error as Error)?.message ?? error)))
      .finally(() => { if (this.polling.get(d.name) === token) this.polling.delete(d.name); });
  }

  private log(action: BridgeLogLine['action'], server: string, detail?: string): void {
    this.options.log?.({ action, server, detail });
  }
}

/**
 * A server keyword the bridge sets itself from each member's record (check target, role, weight,
 * state), or undefined: given in the server options as well, it would win in HAProxy and never
 * match what the bridge expects, which would then re-create the server on every sync.
 */
export function ownedServerKeyword(serverOptions: string): string | undefined {
  return serverOptions.split(/\s+/).find((k) => ['addr', 'port', 'check', 'backup', 'weight', 'disabled', 'enabled'].includes(k));
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [canonicalIp(address.slice(0, i)), Number(address.slice(i + 1))];
}

/**
 * One spelling per address, brackets off: HAProxy shows `::ffff:127.0.0.1` where a URL says
 * `::ffff:7f00:1`, and a comparison of the two must not re-address a server on every sync.
 */
function canonicalIp(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) !== 6) return bare;
  try {
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return bare;
  }
}
