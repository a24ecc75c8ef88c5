export { ZkSession } from './zk-session';
export type {
  ZkSessionState, CreateMode, LostReason, WatchEvent, WatchFn, MultiOp, MultiResult, SessionInfo, ZkSessionEvents, ZkStats,
} from './session-types';
export type { ZkSessionOptions, ZkAuth } from './session-options';
export { parseConnectString } from './session-options';
export { ZkError } from './zk-error';
export type { ZkErrorCode } from './zk-error';
export type { ZnodeStat } from './stat';
export { acl, digestId, permBits, permNames } from './acl';
export type { AclEntry, Perm } from './acl';
export { applyClientFixes, appliedClientFixes } from './client-fixes';
