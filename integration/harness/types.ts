/** The public shape of the harness; every backend implements ZkCluster. */

export type Backend = 'local' | 'testcontainers' | 'external';

export type FourLetterWord = 'srvr' | 'mntr' | 'cons' | 'stat' | 'ruok' | 'conf' | 'wchs' | 'wchc' | 'dump';

export interface StartOptions {
  /** 1 = standalone (default); 3 or 5 = an ensemble on loopback. */
  nodes?: number;
  /** ZooKeeper tickTime in ms; default 100. */
  tickTime?: number;
  /** Written to zoo.cfg explicitly; default 2 × tickTime. */
  minSessionTimeout?: number;
  /** Written to zoo.cfg explicitly; default 60000 (ZooKeeper's own default of 20 ticks silently cuts timeouts). */
  maxSessionTimeout?: number;
  /** Default: 'external' when env ZK_CONNECT is set, else 'local'. */
  backend?: Backend;
  /** Progress lines (start, ready, kill, ...). */
  log?: (line: string) => void;
}

export interface ZkNodeInfo {
  /** 1-based myid. */
  readonly id: number;
  readonly host: string;
  readonly clientPort: number;
  /** "host:clientPort" of this node alone. */
  readonly connectString: string;
}

export interface ZkCluster {
  readonly connectString: string;
  readonly nodes: readonly ZkNodeInfo[];
  readonly startupMs: number;
  pid(id: number): number | undefined;
  isRunning(id: number): boolean;
  stop(id: number): Promise<void>;
  kill(id: number): Promise<void>;
  pause(id: number): void;
  resume(id: number): void;
  restart(id: number): Promise<void>;
  leader(): Promise<number>;
  followers(): Promise<number[]>;
  dropQuorum(): Promise<number[]>;
  regainQuorum(): Promise<void>;
  waitReady(timeoutMs?: number): Promise<void>;
  fourLetter(id: number, cmd: FourLetterWord): Promise<string>;
  srvr(id: number): Promise<string>;
  mntr(id: number): Promise<Record<string, string>>;
  cons(id: number): Promise<string>;
  expireSession(sessionId: Buffer | bigint, password: Buffer): Promise<void>;
  close(): Promise<void>;
}
