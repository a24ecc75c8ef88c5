/**
 * The test kit, one import for integration tests, benches and the chaos suite: the ZooKeeper
 * harness, bounded waits, child-process workers, the shared ZooKeeper and the history checker.
 */
export * from '../harness';
export { sleep, eventually, within, once, uniqueRoot } from './wait';
export { Worker } from './worker';
export type { WorkerEvent } from './worker';
export { sharedZooKeeper } from './shared-zookeeper';
export { checkHistory } from '../chaos/checker';
export { quotaRoot } from './quota';
export { runStartFailure } from './start-failure';
export type { StartFailureOutcome } from './start-failure';
