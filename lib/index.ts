/**
 * zk-ha: highly available RPC services with Apache ZooKeeper as the coordinator.
 * This entry is the HA API: servers, clients, their errors, faults, metrics and ACLs.
 * The building blocks (sessions, election, transport, balancers) live under 'zk-ha/blocks'.
 */
export { HaServer } from './ha/ha-server';
export type { HaServerOptions, HaServerRole, HaServerEvents, HaServerTransportOptions } from './ha/ha-server-types';
export type { HaCallContext, HaHandler, ReplicatedState, ReplicationOptions } from './ha/replication';
export type { IsrRecord } from './coordination/in-sync-set';
export type { HaMemberStatus, HaHttpOption } from './ha/http-surface';
export { HaClient } from './ha/ha-client';
export type { HaClientOptions, HaCallOptions, HaCallResult, HaClientEvents } from './ha/ha-client';

export { ZkHaError, InvalidOptionError } from './base/errors';
export { secretsEqual } from './base/secure-compare';
export { RpcError, RPC_ERROR_CODES } from './transport';
export type { RpcErrorCode, CallContext, Handler, PeerInfo } from './transport';
export { ZkError, acl, digestId } from './zk';
export type { ZkAuth, ZkErrorCode, AclEntry, Perm, ZkSessionOptions } from './zk';
export { CoordinationError } from './coordination';
export type { CoordinationErrorCode, ServiceMode, Member, MemberRecord } from './coordination';
export type { BalancerName, HealthOptions, HedgeOptions, RetryBudgetOptions } from './routing';

export { FaultReporter } from './ops/fault-reporter';
export type { FaultReport, FaultKind, FaultLogger } from './ops/fault-reporter';
export { readJournal } from './coordination';
export { HaMetrics } from './ops/metrics';
export type { HaMetricsOptions, MetricsRegistry } from './ops/metrics';
