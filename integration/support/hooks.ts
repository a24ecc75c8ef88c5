import { closeSharedZooKeeper } from './shared-zookeeper';
import { killAllTracked } from '../harness';

/** Mocha root hooks: whatever a test started, nothing outlives the run. */
export const mochaHooks = {
  async afterAll(): Promise<void> {
    await closeSharedZooKeeper();
    killAllTracked();
  },
};
