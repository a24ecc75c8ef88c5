import type { ZkSession } from '../zk';
import type { SkippedNode } from './head-observer';
import type { InvalidRecords, ReadRecord } from './invalid-records';
import { leaseNodeName } from './paths';
import type { ServicePaths } from './paths';

/** What a predecessor watch tells its Election. */
export interface PredecessorWatchHooks {
  /** The watched node changed or went: evaluate again. */
  readonly wake: () => void;
  readonly schedule: () => void;
}

/** Where we stand behind the head: `ahead` is the place of the first valid member before us (0: we are second). */
export interface PlaceInLine {
  readonly ahead: number;
  /** Invalid records between it and us (looked through; removed with the head by a takeover). */
  readonly skipped: readonly SkippedNode[];
  /** Its record as read (undefined when it is the head). */
  readonly predecessor: ReadRecord | undefined;
}

/**
 * Behind the head's observer: a watch on the predecessor's member node only (its departure, or its
 * record changing). Nobody behind the second in line watches the head or a lease node: a leader
 * change notifies the successor alone, and those further back learn of it by reads on their own
 * timers (election.ts). Each departure wakes the one member right behind it, never N.
 */
export class PredecessorWatch {
  private token = 0;
  /** The watch armed (per token), so that evaluating again does not pile up watches. */
  private armed: { name: string; token: number; node: SkippedNode } | undefined;

  constructor(
    private readonly session: ZkSession,
    private readonly paths: ServicePaths,
    private readonly records: InvalidRecords,
    private readonly hooks: PredecessorWatchHooks,
  ) {}

  /**
   * Reads the records ahead of us (`index` in `ordered`) from the nearest back, looking through
   * invalid ones — they are not candidates — up to the first valid member or the head. Undefined
   * when a node left meanwhile (list again).
   */
  async place(ordered: readonly { name: string }[], index: number): Promise<PlaceInLine | undefined> {
    const skipped: SkippedNode[] = [];
    let ahead = index - 1;
    let predecessor: ReadRecord | undefined;
    for (; ahead >= 1; ahead--) {
      predecessor = await this.records.check(ordered[ahead]!.name);
      if (!predecessor) return undefined;
      if (predecessor.valid) break;
      skipped.push(predecessor);
    }
    return { ahead, skipped, predecessor: ahead === 0 ? undefined : predecessor };
  }

  /** Makes every watch armed so far stale: its notification no longer wakes the election. */
  invalidate(): void {
    this.token++;
    this.armed = undefined;
  }

  /** A watch on `name` is armed and has not fired: the node is there, at the version it was armed on. */
  isWatching(name: string): boolean {
    return this.armed?.name === name && this.armed.token === this.token;
  }

  /**
   * Watches `name`, whose record we read at `version` (and found valid). Resolves its node, or
   * undefined when it left or changed meanwhile (the election is scheduled to evaluate again).
   */
  async watch(name: string, version: number): Promise<SkippedNode | undefined> {
    const armed = this.armed;
    if (armed && this.isWatching(name) && armed.node.version === version) return armed.node;
    const token = ++this.token;
    this.armed = undefined;
    const watch = (): void => {
      if (token !== this.token) return; // superseded by a newer watch
      this.armed = undefined;
      this.hooks.wake();
    };
    const path = `${this.paths.members}/${name}`;
    const stat = await this.session.exists(path, { watch });
    if (token !== this.token) return undefined;
    if (!stat || stat.version !== version) {
      // It left, or its record changed, between our read and the watch: look again.
      this.hooks.schedule();
      return undefined;
    }
    const node: SkippedNode = { path, version, leasePath: `${this.paths.leases}/${leaseNodeName(name, stat.ephemeralOwner)}` };
    this.armed = { name, token, node };
    return node;
  }
}
