/**
 * zk-ha: highly available RPC services with Apache ZooKeeper as the coordinator.
 * This file is the public API and nothing else.
 */
export { HaServer } from './server';
export type { HaServerOptions, HaServerRole, HaServerEvents, HaServerTransportOptions } from './server';
export { HaClient } from './client';
export type { HaClientOptions, HaCallOptions, HaCallResult, HaClientEvents } from './client';

export { ZkSession, ZkError, acl, digestId } from './zk';
export type {
  ZkSessionOptions, ZkAuth, ZkSessionState, ZkSessionEvents, ZkErrorCode, ZnodeStat, AclEntry, Perm, CreateMode,
  WatchEvent, MultiOp, MultiResult, LostReason,
} from './zk';

export { Membership, MembershipView, Election, CoordinationError, servicePaths, DEFAULT_ROOT } from './coordination';
export type {
  MembershipOptions, MembershipSnapshot, MembershipChange, Member, MemberRecord, ElectionOptions, DemotionReason,
  ServiceMode, CoordinationErrorCode, ServicePaths, OwnNode,
} from './coordination';

export { RpcServer, RpcConnection, RpcError, RPC_ERROR_CODES } from './transport';
export type {
  RpcServerOptions, RpcConnectionOptions, RpcErrorCode, CallContext, Handler, CallOptions, RpcResponse, PeerInfo,
} from './transport';

export { createBalancer, BALANCER_NAMES, seededRandom, RetryBudget, HealthSet, EndpointHealth } from './routing';
export type { BalancerName, Picker, RoutedEndpoint, HealthOptions, HedgeOptions, RetryBudgetOptions } from './routing';

export { FaultReporter, readJournal } from './faults';
export type { FaultReport, FaultKind, FaultLogger } from './faults';
export { HaMetrics } from './metrics';
export type { HaMetricsOptions } from './metrics';
export { ZkHaError, InvalidOptionError } from './errors';
