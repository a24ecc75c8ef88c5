import net from 'node:net';

/** An error from HAProxy's Runtime API (the socket failed, or HAProxy refused a command). */
export class RuntimeApiError extends Error {
  constructor(message: string, readonly command: string) {
    super(message);
    this.name = 'RuntimeApiError';
  }
}

/**
 * HAProxy's Runtime API over its admin socket (`stats socket ... level admin`): one connection per
 * command, the non-interactive mode, so a restarted HAProxy is simply reached again. `address` is a
 * unix socket path or `host:port`.
 */
export class RuntimeApi {
  constructor(readonly address: string, private readonly timeoutMs = 3000) {}

  /** Sends one command; resolves with HAProxy's answer (trailing blank lines trimmed). */
  command(cmd: string): Promise<string> {
    if (/[\r\n;]/.test(cmd)) return Promise.reject(new RuntimeApiError('a command must be one line without ";"', cmd));
    return this.send(cmd);
  }

  /**
   * Sends commands as one line ("a; b; c"), so that HAProxy runs them back to back with no request
   * of ours in between; each is checked like command()'s. Resolves with the answers, concatenated.
   */
  sequence(cmds: readonly string[]): Promise<string> {
    const bad = cmds.find((c) => /[\r\n;]/.test(c));
    if (bad !== undefined) return Promise.reject(new RuntimeApiError('a command must be one line without ";"', bad));
    return this.send(cmds.join('; '));
  }

  private send(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const m = /^(.+):(\d+)$/.exec(this.address);
      const socket = m && !this.address.includes('/') ? net.connect(Number(m[2]), m[1]) : net.connect(this.address);
      let answer = '';
      const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.end(`${cmd}\n`));
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(new RuntimeApiError(`HAProxy runtime API at ${this.address}: ${error.message}`, cmd));
      });
      socket.on('close', (hadError) => {
        clearTimeout(timer);
        if (!hadError) resolve(answer.replace(/\n+$/, ''));
      });
    });
  }

  /** Like command() (or sequence() for several), but an answer that reports a failure rejects. */
  async expectOk(cmd: string | readonly string[]): Promise<string> {
    const answer = typeof cmd === 'string' ? await this.command(cmd) : await this.sequence(cmd);
    if (/^(No such|Unknown|Require|Invalid|Cannot|Can't|Permission denied|.*not found|.*error|.*failed|.*must be|.*already exists)/im.test(answer)) {
      const line = typeof cmd === 'string' ? cmd : cmd.join('; ');
      throw new RuntimeApiError(`HAProxy refused "${line}": ${answer.split('\n')[0]}`, line);
    }
    return answer;
  }

  /** The check address and port of each server of a backend, by name, from `show servers state`. */
  async checkTargets(backend: string): Promise<Map<string, HaproxyCheckTarget>> {
    const text = await this.command(`show servers state ${backend}`);
    const lines = text.split('\n');
    const headerAt = lines.findIndex((l) => l.startsWith('# '));
    const header = headerAt >= 0 ? lines[headerAt]!.slice(2).trim().split(' ') : [];
    const [be, name, port, addr] = ['be_name', 'srv_name', 'srv_check_port', 'srv_check_addr'].map((c) => header.indexOf(c));
    if (be! < 0 || name! < 0 || port! < 0 || addr! < 0) {
      throw new RuntimeApiError(`unexpected "show servers state" answer: ${text.slice(0, 120)}`, 'show servers state');
    }
    const out = new Map<string, HaproxyCheckTarget>();
    for (const line of lines.slice(headerAt + 1)) {
      const f = line.split(' ');
      if (f[be!] !== backend || f[name!] === undefined) continue;
      const p = Number(f[port!]);
      const a = f[addr!];
      out.set(f[name!]!, { addr: a && a !== '-' ? a : undefined, port: p > 0 ? p : undefined });
    }
    return out;
  }

  /** The servers of a backend from `show stat` (CSV): name, address, status, weight, backup flag. */
  async servers(backend: string): Promise<HaproxyServer[]> {
    const csv = await this.command('show stat');
    const lines = csv.split('\n').filter((l) => l.length > 0);
    const header = (lines.shift() ?? '').replace(/^# /, '').split(',');
    const col = (name: string): number => header.indexOf(name);
    const [px, sv, status, weight, bck, addr, cur] = ['pxname', 'svname', 'status', 'weight', 'bck', 'addr', 'scur'].map(col);
    if (px! < 0 || sv! < 0) throw new RuntimeApiError(`unexpected "show stat" answer: ${csv.slice(0, 120)}`, 'show stat');
    const out: HaproxyServer[] = [];
    for (const line of lines) {
      const f = line.split(',');
      if (f[px!] !== backend || f[sv!] === 'BACKEND' || f[sv!] === 'FRONTEND') continue;
      out.push({
        name: f[sv!]!,
        status: f[status!] ?? '',
        weight: Number(f[weight!] ?? 0),
        backup: f[bck!] === '1',
        address: f[addr!] ?? '',
        sessions: Number(f[cur!] ?? 0),
      });
    }
    return out;
  }
}

/** Where HAProxy sends a server's health checks (`show servers state`). */
export interface HaproxyCheckTarget {
  /** `check addr`, or undefined when checks go to the server's own address. */
  readonly addr: string | undefined;
  /** `check port`, or undefined when checks go to the server's own port. */
  readonly port: number | undefined;
}

export interface HaproxyServer {
  readonly name: string;
  /** UP, DOWN, MAINT, "UP 1/2", no check, ... */
  readonly status: string;
  readonly weight: number;
  readonly backup: boolean;
  /** host:port */
  readonly address: string;
  /** Current sessions. */
  readonly sessions: number;
}
