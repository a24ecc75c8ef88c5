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
  /** Extra JVM system properties for every node (local backend), e.g. { 'zookeeper.enforceQuota': 'true' }. */
  systemProperties?: Record<string, string>;
  /**
   * Extra JVM flags for every node (local backend), after the harness's own, which favour a fast
   * start (C1 only, serial GC, small heap); e.g. ['-XX:TieredStopAtLevel=4'] for a JVM that compiles
   * like a production one.
   */
  jvmFlags?: readonly string[];
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
  /** "127.0.0.1:p1,127.0.0.1:p2,..." in node order. */
  readonly connectString: string;
  readonly nodes: readonly ZkNodeInfo[];
  /** Milliseconds from the start call until every node served. */
  readonly startupMs: number;
  /** The node's JVM pid while it runs (undefined for external/container backends). */
  pid(id: number): number | undefined;
  /** True while the node's JVM exists, paused or not. */
  isRunning(id: number): boolean;
  /** SIGTERM (SIGKILL after 10 s), resolves when the JVM has exited. No-op if not running. */
  stop(id: number): Promise<void>;
  /** SIGKILL, resolves when the JVM has exited. No-op if not running. */
  kill(id: number): Promise<void>;
  /** SIGSTOP: the node keeps its sockets but answers nothing (a GC pause / frozen VM). */
  pause(id: number): void;
  /** SIGCONT. */
  resume(id: number): void;
  /** Starts the node again (same ports, same data); stops it first if running; waits until it serves. */
  restart(id: number): Promise<void>;
  /** Waits (up to 15 s) for a node whose srvr says Mode: leader (standalone: that node). */
  leader(): Promise<number>;
  /** Ids of the nodes whose srvr says Mode: follower right now. */
  followers(): Promise<number[]>;
  /** SIGKILLs followers first, then the leader if needed, until no quorum remains; returns their ids. */
  dropQuorum(): Promise<number[]>;
  /** Starts every node that is not running and waits until all serve. */
  regainQuorum(): Promise<void>;
  /** Until every running, not paused node's srvr shows a Mode: (default 30 s). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Raw answer of a four-letter word; rejects with code TIMEOUT if the node does not answer in 2 s. */
  fourLetter(id: number, cmd: FourLetterWord): Promise<string>;
  srvr(id: number): Promise<string>;
  /** mntr as key → value (zk_server_state, zk_version, zk_znode_count, ...). */
  mntr(id: number): Promise<Record<string, string>>;
  cons(id: number): Promise<string>;
  /**
   * Expires a session as ZooKeeper itself would: its owner sees EXPIRED and its ephemeral nodes
   * are deleted. Takes node-zookeeper-client's getSessionId()/getSessionPassword() Buffers.
   */
  expireSession(sessionId: Buffer | bigint, password: Buffer): Promise<void>;
  /** Kills every node and removes the temp dir; idempotent. */
  close(): Promise<void>;
}
