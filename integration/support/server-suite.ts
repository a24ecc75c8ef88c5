import { HaClient } from '../../lib';
import type { HaClientOptions } from '../../lib';
import { sharedZooKeeper } from './shared-zookeeper';
import type { Worker } from './worker';

/**
 * The scaffolding of a describe() whose tests run HaServer workers and HaClients against the
 * shared ZooKeeper: what a test registers here is torn down after it even if it failed — loads and
 * writers first (one left running would spin on a closed client), then clients, workers, and the
 * test's own closers in order.
 */
export class ServerSuite {
  private connectString: string | undefined;
  readonly workers: Worker[] = [];
  readonly clients: HaClient[] = [];
  readonly closers: (() => Promise<unknown>)[] = [];
  readonly loads: { stop(): Promise<void> }[] = [];

  /** `sessionTimeoutMs`: the servers'; a client's deadline is 4 × that. */
  constructor(readonly sessionTimeoutMs: number) {
    before(async () => { this.connectString = (await sharedZooKeeper()).connectString; });
    afterEach(async () => {
      await Promise.all(this.loads.splice(0).map((l) => l.stop()));
      await Promise.all(this.clients.splice(0).map((c) => c.close()));
      await Promise.all(this.workers.splice(0).map((w) => w.kill()));
      for (const close of this.closers.splice(0)) await close();
    });
  }

  /** The shared ZooKeeper's connect string (set by the suite's before hook). */
  get connect(): string {
    if (this.connectString === undefined) throw new Error('ServerSuite.connect read before its before() hook ran');
    return this.connectString;
  }

  /** A started HaClient with fast heartbeats and reconnects, closed after the test. */
  async client(root: string, service: string, opts: Partial<HaClientOptions> = {}): Promise<HaClient> {
    const c = new HaClient({ zk: { connect: this.connect, sessionTimeoutMs: 4000 }, service, root, deadlineMs: 4 * this.sessionTimeoutMs, ...opts,
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 20, maxMs: 200 }, ...opts.connection } });
    this.clients.push(c);
    await c.start();
    return c;
  }
}
