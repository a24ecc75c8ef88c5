/** One runtime fix of node-zookeeper-client (see ./index.ts). */
export interface ClientFix {
  /** Stable name, listed by appliedClientFixes(). */
  readonly name: string;
  /** Patches the loaded library in place. Called once per process; must tolerate a library already fixed by another copy of zk-ha. */
  apply(): void;
}
