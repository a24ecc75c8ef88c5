import { monotonicMs } from '../base/clock';
import type { ZkSession } from '../zk';
import type { SkippedNode } from './head-observer';
import { leaseNodeName } from './paths';
import type { ServicePaths } from './paths';

/** What a predecessor watch tells its Election. */
export interface PredecessorWatchHooks {
  /** A watched node changed: evaluate again. */
  readonly wake: () => void;
  readonly schedule: () => void;
  readonly wakeAtTime: (at: number) => void;
}

/**
 * Behind the head's observer: watch the predecessor's member node (its departure), the member
 * node one further ahead (when it departs our predecessor may become a head that never serves, or
 * we become third), and — further back — that node's lease node (its creation: it became the head,
 * so we are third in line now, a backup observer). Each change wakes at most two members, never N.
 */
export class PredecessorWatch {
  private token = 0;
  /** The predecessor watches armed (per token): a backup observer evaluates on every renewal and must not pile up watches. */
  private armed: { key: string; token: number; node: SkippedNode } | undefined;

  constructor(
    private readonly session: ZkSession,
    private readonly paths: ServicePaths,
    private readonly leaseMs: number,
    private readonly hooks: PredecessorWatchHooks,
  ) {}

  /** Makes every watch armed so far stale: its notification no longer wakes the election. */
  invalidate(): void {
    this.token++;
    this.armed = undefined;
  }

  async watch(name: string, beyond: string, beyondIsHead: boolean): Promise<SkippedNode | undefined> {
    const key = `${name}|${beyond}`;
    const armed = this.armed;
    if (armed && armed.key === key && armed.token === this.token) return armed.node;
    const token = ++this.token;
    this.armed = undefined;
    const watch = (): void => {
      if (token !== this.token) return; // superseded by a newer watch on the same departure
      this.armed = undefined;
      this.hooks.wake();
    };
    const path = `${this.paths.members}/${name}`;
    const stat = await this.session.exists(path, { watch });
    if (!stat) {
      this.hooks.schedule(); // it left between getChildren and exists
      return undefined;
    }
    const leasePath = `${this.paths.leases}/${leaseNodeName(name, stat.ephemeralOwner)}`;
    const further = await this.session.exists(`${this.paths.members}/${beyond}`, { watch });
    if (token !== this.token) return undefined;
    if (!further) {
      this.hooks.schedule();
      return undefined;
    }
    if (!beyondIsHead) {
      // The node two ahead creating its lease node means it became the head: we are third in line
      // now (a backup observer) without any departure next to us having told us.
      const lease = await this.session.exists(`${this.paths.leases}/${leaseNodeName(beyond, further.ephemeralOwner)}`, { watch });
      // It serves already, so our listing is behind: look again soon (a timer, not a loop: a stray lease node must not spin us).
      if (lease && token === this.token) this.hooks.wakeAtTime(monotonicMs() + this.leaseMs / 3);
    }
    const node: SkippedNode = { path, version: stat.version, leasePath };
    this.armed = { key, token, node };
    return node;
  }
}
