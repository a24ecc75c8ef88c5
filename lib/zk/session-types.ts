import type { MalformedReplyInfo } from './client-fixes';
import type { AclEntry } from './acl';
import type { ZnodeStat } from './stat';

export type ZkSessionState = 'idle' | 'connecting' | 'connected' | 'suspended' | 'lost' | 'closed';
export type CreateMode = 'persistent' | 'persistent-sequential' | 'ephemeral' | 'ephemeral-sequential';
export type LostReason = 'expired' | 'timeout' | 'auth-failed';

export interface WatchEvent {
  readonly type: 'created' | 'deleted' | 'dataChanged' | 'childrenChanged';
  readonly path: string;
}
export type WatchFn = (event: WatchEvent) => void;

export type MultiOp =
  | { readonly op: 'create'; readonly path: string; readonly data?: Buffer | string; readonly mode?: CreateMode; readonly acl?: readonly AclEntry[] }
  | { readonly op: 'check'; readonly path: string; readonly version: number }
  | { readonly op: 'set'; readonly path: string; readonly data: Buffer | string; readonly version?: number }
  | { readonly op: 'delete'; readonly path: string; readonly version?: number };

export interface MultiResult {
  readonly op: MultiOp['op'];
  readonly path?: string;
  readonly stat?: ZnodeStat;
}

export interface SessionInfo {
  readonly sessionId: string;
  readonly timeoutMs: number;
}

export interface ZkSessionEvents {
  state: [state: ZkSessionState, previous: ZkSessionState];
  /** The first session is established. */
  connected: [info: SessionInfo];
  /** The connection dropped; the session may still be alive on the server. */
  suspended: [info: { sessionId: string }];
  /** Connected again within the same session: ephemeral nodes and watches survived. */
  reconnected: [info: SessionInfo & { downMs: number }];
  /** The session is gone (told by ZooKeeper, or by the local expiry timer while cut off). */
  lost: [info: { sessionId: string; reason: LostReason }];
  /** A new session replaced a lost one: owners re-create their ephemeral nodes and watches now. */
  session: [info: SessionInfo & { previousSessionId: string }];
  closed: [];
  /**
   * A ZooKeeper reply did not parse: the connection was dropped (pending requests failed with
   * CONNECTION_LOSS) and the client reconnects. At most one event per second; `count` is the number
   * of malformed replies it stands for.
   */
  malformedReply: [info: MalformedReplyInfo & { count: number }];
}

export interface ZkStats {
  reads: number;
  writes: number;
  watchEvents: number;
  probes: number;
  abandonedConnections: number;
  malformedReplies: number;
}
