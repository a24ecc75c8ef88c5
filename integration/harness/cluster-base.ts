import { HarnessError } from './errors';
import { expireSessionOn } from './expire-session';
import { fourLetterWord, parseMntr, parseMode } from './four-letter';
import type { FourLetterWord, ZkCluster, ZkNodeInfo } from './types';

const POLL_MS = 50;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * What every backend shares: talking to nodes over the four-letter words and the raw protocol.
 * Process control (stop, kill, pause, ...) belongs to backends that own the processes; here it
 * throws NOT_SUPPORTED with a message naming the backend.
 */
export abstract class ClusterBase implements ZkCluster {
  readonly connectString: string;
  readonly nodes: readonly ZkNodeInfo[];
  abstract readonly startupMs: number;
  protected readonly log: (line: string) => void;

  protected constructor(nodes: readonly ZkNodeInfo[], log: ((line: string) => void) | undefined) {
    this.nodes = nodes;
    this.connectString = nodes.map((n) => n.connectString).join(',');
    this.log = log ?? (() => undefined);
  }

  /** Why fault operations are not available here; undefined when they are. */
  protected abstract readonly unsupportedReason: string | undefined;

  /** Nodes that should answer right now (running and not paused). */
  protected activeIds(): number[] {
    return this.nodes.map((n) => n.id);
  }

  protected notSupportedError(op: string): HarnessError {
    return new HarnessError('NOT_SUPPORTED', `${op}() is not supported ${this.unsupportedReason ?? 'by this backend'}`);
  }

  node(id: number): ZkNodeInfo {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new HarnessError('UNKNOWN_NODE', `no node ${id}; nodes are ${this.nodes.map((n) => n.id).join(', ')}`);
    return node;
  }

  pid(id: number): number | undefined {
    this.node(id);
    return undefined;
  }
  isRunning(id: number): boolean {
    this.node(id);
    return true;
  }
  stop(_id: number): Promise<void> {
    return Promise.reject(this.notSupportedError('stop'));
  }
  kill(_id: number): Promise<void> {
    return Promise.reject(this.notSupportedError('kill'));
  }
  pause(_id: number): void {
    throw this.notSupportedError('pause');
  }
  resume(_id: number): void {
    throw this.notSupportedError('resume');
  }
  restart(_id: number): Promise<void> {
    return Promise.reject(this.notSupportedError('restart'));
  }
  dropQuorum(): Promise<number[]> {
    return Promise.reject(this.notSupportedError('dropQuorum'));
  }
  regainQuorum(): Promise<void> {
    return Promise.reject(this.notSupportedError('regainQuorum'));
  }
  abstract close(): Promise<void>;

  fourLetter(id: number, cmd: FourLetterWord, timeoutMs = 2000): Promise<string> {
    const node = this.node(id);
    return fourLetterWord(node.host, node.clientPort, cmd, timeoutMs);
  }
  srvr(id: number): Promise<string> {
    return this.fourLetter(id, 'srvr');
  }
  async mntr(id: number): Promise<Record<string, string>> {
    return parseMntr(await this.fourLetter(id, 'mntr'));
  }
  cons(id: number): Promise<string> {
    return this.fourLetter(id, 'cons');
  }

  /** The mode of each active node; a node that does not answer or does not serve is absent. */
  protected async modes(timeoutMs = 1000): Promise<Map<number, string>> {
    const ids = this.activeIds();
    const answers = await Promise.all(
      ids.map((id) => this.fourLetter(id, 'srvr', timeoutMs).then(parseMode, () => undefined)),
    );
    const out = new Map<number, string>();
    ids.forEach((id, i) => {
      const mode = answers[i];
      if (mode !== undefined) out.set(id, mode);
    });
    return out;
  }

  /** Waits (up to timeoutMs) for a node to report Mode: leader (or standalone). */
  async leader(timeoutMs = 15000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      for (const [id, mode] of await this.modes()) if (mode === 'leader' || mode === 'standalone') return id;
      if (Date.now() > deadline) throw new HarnessError('TIMEOUT', `no leader within ${timeoutMs} ms`);
      await sleep(POLL_MS);
    }
  }

  async followers(): Promise<number[]> {
    const modes = await this.modes();
    return [...modes].filter(([, mode]) => mode === 'follower').map(([id]) => id).sort((a, b) => a - b);
  }

  async waitReady(timeoutMs = 30000): Promise<void> {
    await this.waitNodesReady(() => this.activeIds(), timeoutMs);
  }

  /** Polls srvr until every node in ids() reports a Mode: (ruok says imok before a node serves). */
  protected async waitNodesReady(ids: () => number[], timeoutMs: number, check?: () => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      check?.();
      const want = ids();
      const modes = await this.modes();
      const missing = want.filter((id) => !modes.has(id));
      if (missing.length === 0) return;
      if (Date.now() > deadline) {
        throw new HarnessError('TIMEOUT', `node(s) ${missing.join(', ')} not serving within ${timeoutMs} ms`);
      }
      await sleep(POLL_MS);
    }
  }

  expireSession(sessionId: Buffer | bigint, password: Buffer): Promise<void> {
    const servers = this.activeIds().map((id) => {
      const n = this.node(id);
      return { host: n.host, port: n.clientPort };
    });
    return expireSessionOn(servers, sessionId, password);
  }
}
