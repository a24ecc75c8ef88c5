import { Election, Membership } from '../../lib/coordination';
import type { ElectionEvents } from '../../lib/coordination';
import type { WatchEvent, WatchFn, ZkSession } from '../../lib/zk';
import type { Sessions } from './sessions';

/** A watch notification one session received: which node, what happened. */
export interface Notification {
  readonly path: string;
  readonly type: WatchEvent['type'];
}

/** An election candidate in this process, with what it went through. */
export interface Candidate {
  readonly id: string;
  readonly session: ZkSession;
  readonly membership: Membership;
  readonly election: Election;
  /** `elected:<epoch>` and `demoted:<reason>`, in order. */
  readonly log: string[];
  readonly takeovers: ElectionEvents['takeover'][0][];
  /** Every watch notification its session's reads armed (recorded from the start). */
  readonly notifications: Notification[];
}

/**
 * Records every watch notification delivered to watches armed through `session`'s reads (get,
 * exists, children), to tell which member ZooKeeper woke about which node. The reads themselves go
 * to ZooKeeper unchanged.
 */
export function recordNotifications(session: ZkSession): Notification[] {
  const seen: Notification[] = [];
  const wrap = (opts: { watch?: WatchFn } = {}): { watch?: WatchFn } => {
    const watch = opts.watch;
    if (!watch) return opts;
    return { watch: (event) => { seen.push({ path: event.path, type: event.type }); watch(event); } };
  };
  const { get, exists, children } = session;
  session.get = (path, opts) => get.call(session, path, wrap(opts));
  session.exists = (path, opts) => exists.call(session, path, wrap(opts));
  session.children = (path, opts) => children.call(session, path, wrap(opts));
  return seen;
}

/**
 * In-process election candidates of one test (a Membership and an Election on a session of their
 * own, registered), stopped together by `stopAll()` in its afterEach; the sessions belong to
 * `sessions` and close with it.
 */
export class Candidates {
  private readonly elections: Election[] = [];

  constructor(private readonly sessions: Sessions) {}

  async start(root: string, id: string, opts: { connect?: string; leaseMs?: number; sessionTimeoutMs?: number; service?: string; standby?: boolean } = {}): Promise<Candidate> {
    const session = this.sessions.create({ ...(opts.connect ? { connect: opts.connect } : {}), ...(opts.sessionTimeoutMs ? { sessionTimeoutMs: opts.sessionTimeoutMs } : {}) });
    const notifications = recordNotifications(session);
    await session.start();
    const membership = new Membership(session, { service: opts.service ?? 'svc', mode: 'primary-backup', root, record: { id, url: `ws://127.0.0.1:1/${id}` } });
    const election = new Election(session, membership, { leaseMs: opts.leaseMs, standby: opts.standby });
    this.elections.push(election);
    const c: Candidate = { id, session, membership, election, log: [], takeovers: [], notifications };
    election.on('elected', (e) => c.log.push(`elected:${e.epoch}`));
    election.on('demoted', (e) => c.log.push(`demoted:${e.reason}`));
    election.on('takeover', (t) => c.takeovers.push(t));
    election.on('error', () => undefined);
    election.start();
    await membership.register();
    return c;
  }

  stopAll(): void {
    for (const e of this.elections.splice(0)) e.stop();
  }
}
