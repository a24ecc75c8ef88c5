// Minimal typings for node-zookeeper-client 1.1.x: only what lib/zk uses. The library ships none.
declare module 'node-zookeeper-client' {
  import { EventEmitter } from 'events';
  import { Socket } from 'net';

  export type Callback<T> = (error: Exception | Error | null, result: T) => void;

  export interface Stat {
    czxid: Buffer; mzxid: Buffer; ctime: Buffer; mtime: Buffer;
    version: number; cversion: number; aversion: number;
    ephemeralOwner: Buffer; dataLength: number; numChildren: number; pzxid: Buffer;
  }
  export class Exception extends Error {
    static readonly OK: number; static readonly CONNECTION_LOSS: number; static readonly SESSION_EXPIRED: number;
    static create(code: number, path?: string): Exception;
    code: number; name: string; path?: string;
    getCode(): number; getName(): string; getPath(): string | undefined;
  }
  export class Id { constructor(scheme: string, id: string); scheme: string; id: string; }
  export class ACL {
    constructor(permission: number, id: Id);
    permission: number; id: Id;
    static readonly OPEN_ACL_UNSAFE: ACL[]; static readonly CREATOR_ALL_ACL: ACL[]; static readonly READ_ACL_UNSAFE: ACL[];
  }
  export const Permission: { READ: number; WRITE: number; CREATE: number; DELETE: number; ADMIN: number; ALL: number };
  export const CreateMode: { PERSISTENT: number; PERSISTENT_SEQUENTIAL: number; EPHEMERAL: number; EPHEMERAL_SEQUENTIAL: number };
  export interface State { name: string; code: number; getName(): string; getCode(): number }
  export const State: {
    DISCONNECTED: State; SYNC_CONNECTED: State; AUTH_FAILED: State; CONNECTED_READ_ONLY: State;
    SASL_AUTHENTICATED: State; EXPIRED: State;
  };
  export interface Event { type: number; name: string; path: string; getType(): number; getName(): string; getPath(): string }
  export const Event: { NODE_CREATED: number; NODE_DELETED: number; NODE_DATA_CHANGED: number; NODE_CHILDREN_CHANGED: number };
  export type Watcher = (event: Event) => void;

  export interface TransactionOp { type: number; path: string; data?: Buffer; acls?: ACL[]; mode?: number; version?: number }
  export interface TransactionResult { type: number; path?: string; stat?: Stat; err?: number }
  export interface Transaction {
    ops: TransactionOp[];
    create(path: string, data?: Buffer, acls?: ACL[], mode?: number): Transaction;
    check(path: string, version?: number): Transaction;
    setData(path: string, data: Buffer | null, version?: number): Transaction;
    remove(path: string, version?: number): Transaction;
    commit(callback: Callback<TransactionResult[]>): void;
  }

  /** Internal connection manager: reached only where the public API has no handle (see lib/zk/client-internals.ts). */
  export interface ConnectionManager extends EventEmitter {
    state: number;
    socket?: Socket;
    sessionTimeout: number;
    packetQueue: { queue: unknown[] };
    setState(state: number): void;
  }

  export interface ClientOptions { sessionTimeout?: number; spinDelay?: number; retries?: number; sessionId?: Buffer; sessionPassword?: Buffer }
  export interface Client extends EventEmitter {
    connectionManager: ConnectionManager;
    connect(): void;
    close(): void;
    getState(): State;
    getSessionId(): Buffer;
    getSessionPassword(): Buffer;
    getSessionTimeout(): number;
    addAuthInfo(scheme: string, auth: Buffer): void;
    create(path: string, data: Buffer | null, acls: ACL[], mode: number, callback: Callback<string>): void;
    remove(path: string, version: number, callback: (error: Exception | Error | null) => void): void;
    setData(path: string, data: Buffer | null, version: number, callback: Callback<Stat>): void;
    getData(path: string, watcher: Watcher | undefined, callback: (error: Exception | Error | null, data: Buffer | undefined, stat: Stat) => void): void;
    exists(path: string, watcher: Watcher | undefined, callback: Callback<Stat | null>): void;
    getChildren(path: string, watcher: Watcher | undefined, callback: (error: Exception | Error | null, children: string[], stat: Stat) => void): void;
    getACL(path: string, callback: (error: Exception | Error | null, acls: ACL[], stat: Stat) => void): void;
    setACL(path: string, acls: ACL[], version: number, callback: Callback<Stat>): void;
    transaction(): Transaction;
  }
  export function createClient(connectString: string, options?: ClientOptions): Client;
}
