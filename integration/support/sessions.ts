import { ZkSession } from '../../lib/zk';
import type { ZkSessionOptions } from '../../lib/zk';

/**
 * The ZkSessions a test opened, closed together by `closeAll()` in its afterEach (a failed test
 * leaves none behind). `defaults()` is read at each open: the connect string is only known once
 * the suite's before() hook has started ZooKeeper.
 */
export class Sessions {
  private readonly opened: ZkSession[] = [];

  constructor(private readonly defaults: () => ZkSessionOptions) {}

  /** A session, tracked but not started (to set it up before start()). */
  create(options: Partial<ZkSessionOptions> = {}): ZkSession {
    const s = new ZkSession({ ...this.defaults(), ...options });
    this.opened.push(s);
    return s;
  }

  /** A started session, tracked. */
  async open(options: Partial<ZkSessionOptions> = {}): Promise<ZkSession> {
    const s = this.create(options);
    await s.start();
    return s;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.opened.splice(0).map((s) => s.close()));
  }
}
