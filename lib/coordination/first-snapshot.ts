import { ZkError } from '../zk';
import type { ZkSession } from '../zk';
import { MembershipView } from './membership-view';
import type { MembershipSnapshot } from './membership-types';
import type { ServicePaths } from './paths';

/** A member node whose data did not parse: clients skip it; an operator should see it. */
export interface InvalidMemberNode {
  readonly path: string;
  readonly error: string;
}

/**
 * Starts a MembershipView — the same ordering, record parsing and acknowledged primary as every
 * client — and waits for its first snapshot, for one-shot work (a CLI command, the operator
 * override). The view retries ZooKeeper errors for ever; this does not: the first error a retry
 * cannot cure (NO_AUTH, ...) fails it, and so does no snapshot within `timeoutMs`. The caller
 * stops the view.
 */
export async function startViewOnce(session: ZkSession, paths: ServicePaths, timeoutMs: number): Promise<{ view: MembershipView; snapshot: MembershipSnapshot; invalid: InvalidMemberNode[] }> {
  const view = new MembershipView(session, paths.service, { root: paths.root });
  const invalid: InvalidMemberNode[] = [];
  view.on('invalid', ({ path, error }) => invalid.push({ path, error: error.message }));
  let onError: ((error: unknown) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    onError = (error: unknown): void => {
      if (error instanceof ZkError && error.retryable) return;
      reject(error);
    };
    view.on('error', onError);
    // Retryable errors only: ZooKeeper went away after the connect; do not wait for ever.
    timer = setTimeout(() => reject(new ZkError('TIMEOUT', `no member list within ${timeoutMs} ms`, { path: paths.members })), timeoutMs);
  });
  try {
    const snapshot = await Promise.race([view.start(), failed]);
    return { view, snapshot, invalid };
  } catch (error) {
    view.stop();
    throw error;
  } finally {
    clearTimeout(timer);
    if (onError) view.off('error', onError);
  }
}
