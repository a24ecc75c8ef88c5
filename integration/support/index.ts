/**
 * The test kit, one import for integration tests, benches and the chaos suite: the ZooKeeper
 * harness, bounded waits, child-process workers, the shared ZooKeeper and the history checker.
 */
export * from '../harness';
export { sleep, eventually, within, once, uniqueRoot } from './wait';
export { Worker } from './worker';
export type { WorkerEvent } from './worker';
export { sharedZooKeeper } from './shared-zookeeper';
export { Sessions } from './sessions';
export { ServerSuite } from './server-suite';
export { spawnServer, startServer } from './ha-fixtures';
export type { ServerSpec } from './ha-fixtures';
export { checkHistory } from '../chaos/checker';
export { quotaRoot, startQuotaZooKeeper } from './quota';
export { expectQuotaRejections, runStartFailure } from './start-failure';
export type { StartFailureOutcome } from './start-failure';
