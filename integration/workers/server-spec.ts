import type { ReplicationOptions, ServiceMode } from '../../lib';

/**
 * What the one HaServer worker (ha-server-worker.ts) runs, passed as JSON in env ZKHA_WORKER.
 * Every mode of it shares the handlers, the events and the commands; the options below only
 * switch what differs between the suites that use it.
 */
export interface ServerWorkerSpec {
  connect: string; root: string; service: string; id: string; sessionTimeoutMs: number;
  /** Default 'primary-backup'. */
  mode?: ServiceMode;
  weight?: number; zone?: string; leaseFraction?: number; leaseMs?: number;
  /** Log every run of the plain handlers (default true); `op` always logs (the chaos history needs it). */
  logRuns?: boolean;
  /** A prom-client registry behind GET /metrics. */
  metrics?: boolean;
  /** A fixed listen port (default ephemeral) and the URL to publish (e.g. a proxy in front of it). */
  port?: number; advertiseUrl?: string;
  /** HaServer graceMs and journal; closeGraceMs for the `close` command. Default: HaServer's. */
  graceMs?: number; journal?: boolean; closeGraceMs?: number;
  /**
   * Replicated state (ids in apply order and a counter): `add`, `incr` and `op` replicate before
   * they answer, `read` and `plain` do not; `{"cmd":"dump"}` prints the member's copy.
   */
  replicated?: boolean;
  replication?: ReplicationOptions;
}

/**
 * The replication secret of the workers of `service` when the spec names none: known to the test
 * (which plays the attacker with or without it), never to the workers' clients.
 */
export function workerReplicationSecret(service: string): string {
  return `zk-ha-test-replication-secret/${service}`;
}
