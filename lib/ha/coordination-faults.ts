import { monotonicMs } from '../base/clock';
import { ZkHaError } from '../base/errors';
import type { Election, Membership, MembershipView } from '../coordination';
import type { FaultReporter } from '../ops/fault-reporter';
import { ZkError } from '../zk';
import type { ZkSession } from '../zk';

/** The ZooKeeper side of a member that a HaServer turns into fault reports. */
export interface CoordinationParts {
  readonly session: ZkSession;
  readonly membership: Membership;
  readonly view: MembershipView;
  readonly election: Election | undefined;
}

/**
 * Reports what the session, the membership, the view and the election tell a member about
 * trouble (suspensions, lost sessions, rejected input, registration errors, failovers) as faults.
 * Role changes are the HaServer's own wiring.
 */
export function reportCoordinationFaults(faults: FaultReporter, { session: s, membership, view, election }: CoordinationParts): void {
  let lostAt: number | undefined;
  s.on('suspended', () => faults.report('session-suspended', { detail: { sessionId: s.sessionId } }));
  s.on('lost', (i) => {
    lostAt = monotonicMs();
    faults.report('session-lost', { detail: { ...i } });
  });
  s.on('session', (i) => {
    const since = lostAt;
    lostAt = undefined;
    faults.report('session-rejoined', { durationMs: since === undefined ? undefined : monotonicMs() - since, detail: { ...i } });
  });
  // Already rate-limited by the session (one event per second, with a count).
  s.on('malformedReply', (i) => faults.report('rejected-input', { detail: { source: 'zookeeper', ...i } }));
  // Service nodes found more open than the `acl` option (fixed, or other sessions' nodes left as they are).
  membership.on('acl', (r) => faults.report('rejected-input', { detail: { source: 'zookeeper-acl', ...r } }));
  view.on('invalid', ({ path, error }) => faults.report('rejected-input', { detail: { path, code: error.code, message: error.message } }));
  membership.on('retrying', (error) => reportZooKeeperError(faults, 'register', error));
  reportRetriedErrors(faults, 'view', view);
  if (election) reportRetriedErrors(faults, 'election', election);
  // The service node was created again (deleteall, or ZooKeeper lost its data): epochs restart.
  membership.on('generation', (g) => faults.report('generation-changed', { detail: { ...g } }));
  membership.on('restored', (r) => faults.report('record-restored', { detail: { ...r } }));
  election?.on('invalid', ({ path, error }) => faults.report('rejected-input', { detail: { path, code: error.code, message: error.message } }));
  election?.on('takeover', (info) => faults.report('failover', { detail: { ...info, by: membership.record.id } }));
}

/**
 * A ZooKeeper error that a retry loop (registration, a view's refresh, an election round) keeps
 * running into. Connection trouble is reported by the session; anything else (QUOTA_EXCEEDED,
 * NO_AUTH, an unknown server code...) is an operator's problem and would otherwise only show as a
 * member that never registers, a view that never loads, or an election that never ends. The
 * reporter rate-limits it.
 */
export function reportZooKeeperError(faults: FaultReporter, op: string, error: unknown): void {
  if (error instanceof ZkError && (error.retryable || error.code === 'SESSION_EXPIRED' || error.code === 'CLOSED')) return;
  const code = error instanceof ZkHaError ? error.code : 'INTERNAL';
  faults.report('zookeeper-error', { detail: { op, code, message: error instanceof Error ? error.message : String(error) } });
}

/** Answers that only say the tree moved under a round (a node came or went meanwhile): the next round sees it. */
const RACES: ReadonlySet<string> = new Set(['NO_NODE', 'NODE_EXISTS', 'BAD_VERSION', 'NOT_EMPTY']);

/** The 'error' events of a view or an election (each failed round; it is retried). */
export function reportRetriedErrors(faults: FaultReporter, op: string, source: { on(event: 'error', listener: (error: unknown) => void): unknown }): void {
  source.on('error', (error) => {
    if (error instanceof ZkError && RACES.has(error.code)) return;
    reportZooKeeperError(faults, op, error);
  });
}
