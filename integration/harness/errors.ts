import { ZkHaError } from '../../lib/base/errors';

/** Stable codes of the harness's own failures, so a test can tell "no ZooKeeper here" from a bug. */
export type HarnessErrorCode =
  | 'ZK_NOT_FOUND' // no ZooKeeper jars / no java on this machine
  | 'NOT_SUPPORTED' // a fault operation the chosen backend cannot perform
  | 'NO_DOCKER' // testcontainers backend without a Docker engine
  | 'START_FAILED' // a node exited or never became ready
  | 'TIMEOUT' // a wait ran out of time
  | 'UNKNOWN_NODE' // a node id that is not in the cluster
  | 'EXPIRE_FAILED'; // no server accepted the session to expire

export class HarnessError extends ZkHaError<HarnessErrorCode> {}
