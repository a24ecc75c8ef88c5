import { parseMode, type ZkCluster } from '../../integration/harness';

/** Polls each ZooKeeper node's mode (srvr) in the background for the screen. */
export class ZkModes {
  readonly modes = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly zk: ZkCluster) {}

  start(intervalMs = 1000): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.polling) return; // a node that does not answer takes up to 2 s: never pile polls up
    this.polling = true;
    try {
      await Promise.all(this.zk.nodes.map(async ({ id }) => {
        if (!this.zk.isRunning(id)) return this.modes.set(id, 'down');
        const mode = await this.zk.srvr(id).then((s) => parseMode(s) ?? 'not serving', () => 'no answer');
        // A node killed while the poll ran is down, whatever it answered just before.
        this.modes.set(id, this.zk.isRunning(id) ? mode : 'down');
      }));
    } finally {
      this.polling = false;
    }
  }
}
