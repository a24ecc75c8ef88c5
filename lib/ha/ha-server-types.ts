import type { DemotionReason, ServiceMode } from '../coordination';
import type { FaultReport, FaultLogger } from '../ops/fault-reporter';
import type { HaMetrics } from '../ops/metrics';
import type { RpcServerOptions } from '../transport';
import type { AclEntry, ZkSession, ZkSessionOptions } from '../zk';
import type { HaHttpOption } from './http-surface';
import type { HaHandler, ReplicatedState, ReplicationOptions } from './replication';

/** Transport settings of the server: limits, heartbeats, TLS, authentication. */
export type HaServerTransportOptions = Omit<RpcServerOptions, 'handlers' | 'admit' | 'host' | 'port' | 'onFault'>;

export interface HaServerOptions {
  /** A ZkSession to use (the caller owns it), or options for one the server creates and closes. */
  readonly zk: ZkSession | ZkSessionOptions;
  readonly service: string;
  readonly mode: ServiceMode;
  /** ZooKeeper root of zk-ha's nodes. Default "/zk-ha". */
  readonly root?: string;
  /** Where to listen. Default 127.0.0.1, an ephemeral port. */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** The URL clients use, published in the member record. Default ws(s)://<listen host>:<port>. */
  readonly advertiseUrl?: string;
  readonly handlers?: Readonly<Record<string, HaHandler>>;
  /**
   * Replicated state (primary/backup mode): handlers call `await ctx.replicate(op)`; the op is on
   * every in-sync member before it is applied and answered. See docs/replication.md.
   */
  readonly state?: ReplicatedState;
  readonly replication?: ReplicationOptions;
  /** Member id; default a random UUID. */
  readonly id?: string;
  readonly weight?: number;
  readonly zone?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
  /**
   * The primary's lease (DESIGN.md, "Leadership"): it renews its lease node every leaseMs/3 and
   * serves only until sendTime(last answered renewal) + leaseMs. A crashed or cut-off primary is
   * replaced after about leaseMs × (1 + driftMargin), independent of the session timeout; a
   * ZooKeeper hiccup longer than leaseMs pauses the primary, never splits it. Default 500.
   */
  readonly leaseMs?: number;
  /** Clock-rate allowance of the takeover (see ElectionOptions.driftMargin). Default 0.1. */
  readonly driftMargin?: number;
  /** Asked before this member takes the lease (see ElectionOptions.isEligible). */
  readonly isEligible?: () => Promise<boolean> | boolean;
  /**
   * Extra guard: serve only while `now - confirmedAt < sessionTimeout × leaseFraction` as well.
   * Default 0.5.
   */
  readonly leaseFraction?: number;
  /**
   * Hot standby (see ElectionOptions.standby): the member second in line keeps a standby lease with
   * one check-only ZooKeeper write per leaseMs/3, so that `stepDown()` hands over with one ZooKeeper
   * write instead of two. false halves the service's renewal writes. Default true.
   */
  readonly standby?: boolean;
  /** close(): how long in-flight calls may take to finish. Default 5000. */
  readonly graceMs?: number;
  /** ACL of the nodes this member creates (digest-protected service subtrees). */
  readonly acl?: readonly AclEntry[];
  readonly transport?: HaServerTransportOptions;
  readonly logger?: FaultLogger;
  readonly metrics?: HaMetrics;
  /** Write cluster-wide faults to the ZooKeeper journal. Default true. */
  readonly journal?: boolean;
  /**
   * Operators' HTTP endpoints: GET /healthz, /readyz, /primary, /metrics (docs/operators.md).
   * Default: on the RPC port, beside the ws upgrade. `{ host?, port? }`: a listener of their own
   * (port 0 = ephemeral). `false`: off (plain HTTP requests get 426). The base URL is published in
   * the member record as `http`.
   */
  readonly http?: HaHttpOption;
}

export type HaServerRole = 'starting' | 'primary' | 'backup' | 'member' | 'stopping' | 'stopped';

export interface HaServerEvents {
  fault: [report: FaultReport];
  elected: [info: { epoch: number }];
  demoted: [info: { epoch: number; reason: DemotionReason }];
  role: [role: HaServerRole];
}
