/**
 * zk-ha/blocks: the building blocks under the HA API, for users who compose their own:
 * the ZooKeeper session, membership and election, the RPC transport and the balancers.
 */
export { ZkSession, ZkError, acl, digestId, appliedClientFixes } from './zk';
export type {
  ZkSessionOptions, ZkAuth, ZkSessionState, ZkSessionEvents, ZkErrorCode, ZnodeStat, AclEntry, Perm, CreateMode,
  WatchEvent, MultiOp, MultiResult, LostReason,
} from './zk';

export { Membership, MembershipView, Election, CoordinationError, servicePaths, DEFAULT_ROOT } from './coordination';
export { serviceAcl, enforceAcl, enforceServiceAcls, excessGrants } from './coordination';
export type {
  MembershipOptions, MembershipSnapshot, MembershipChange, MembershipViewOptions, Member, MemberRecord, ElectionOptions, DemotionReason,
  ServiceMode, CoordinationErrorCode, ServicePaths, OwnNode,
} from './coordination';

export { InSyncSet, IsrError, forceInSync, isrPath } from './coordination';
export type { IsrRecord, VersionedIsr, IsrErrorCode, ForceInSyncOptions } from './coordination';

export { RpcServer, RpcConnection, RpcError, RPC_ERROR_CODES } from './transport';
export type {
  RpcServerOptions, RpcConnectionOptions, RpcErrorCode, CallContext, Handler, CallOptions, RpcResponse, PeerInfo,
  AdmitCall, AdmitDecision, AdmitHold, AdmitHook,
} from './transport';

export { createBalancer, BALANCER_NAMES, seededRandom, RetryBudget, HealthSet, EndpointHealth } from './routing';
export type { BalancerName, Picker, RoutedEndpoint, HealthOptions, HedgeOptions, RetryBudgetOptions } from './routing';

export { Backoff, backoffDelay } from './base/backoff';
export type { BackoffOptions } from './base/backoff';
export { monotonicMs } from './base/clock';
