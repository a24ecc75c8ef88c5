import { RpcError } from '../transport';

/** Anything thrown below a policy, as an RpcError (an unexpected throw may have run: not "not executed"). */
export function asRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  return new RpcError('INTERNAL', error instanceof Error ? error.message : String(error), { notExecuted: false, cause: error });
}

/**
 * The error the caller gets, told truthfully: `notExecuted` stays true only when no attempt of
 * the call can have run. An idempotent call that was sent, lost its connection and then met
 * NOT_PRIMARY elsewhere may have executed on the first member.
 */
export function callOutcome(e: RpcError, mayHaveRun: boolean): RpcError {
  if (!mayHaveRun || !e.notExecuted) return e;
  return new RpcError(e.code, `${e.message} (an earlier attempt may have executed)`, {
    notExecuted: false, retryable: e.retryable, leaderHint: e.leaderHint, data: e.data, cause: e,
  });
}

/** At the deadline: DEADLINE_EXCEEDED, saying whether any attempt may have run. */
export function deadlineError(last: RpcError, service: string, mayHaveRun: boolean): RpcError {
  if (last.code === 'DEADLINE_EXCEEDED') return callOutcome(last, mayHaveRun);
  return new RpcError('DEADLINE_EXCEEDED', `deadline exceeded calling "${service}" (last error: ${last.code}: ${last.message})`, {
    notExecuted: last.notExecuted && !mayHaveRun, retryable: false, cause: last,
  });
}

/** The client was closed while the call waited to try again: UNAVAILABLE, not its deadline. */
export function closedError(service: string, mayHaveRun: boolean): RpcError {
  return new RpcError('UNAVAILABLE', `client closed while calling "${service}"`, { notExecuted: !mayHaveRun, retryable: false });
}

export function cancelledError(mayHaveRun: boolean, reason: unknown): RpcError {
  return new RpcError('CANCELLED', 'call cancelled', { notExecuted: !mayHaveRun, cause: reason });
}

export function noPrimary(service: string): RpcError {
  return new RpcError('UNAVAILABLE', `no primary of "${service}" is reachable`, { notExecuted: true, retryable: true });
}

export function noEndpoint(service: string): RpcError {
  return new RpcError('UNAVAILABLE', `no member of "${service}" is reachable`, { notExecuted: true, retryable: true });
}

export function memberLeft(id: string): RpcError {
  return new RpcError('UNAVAILABLE', `member ${id} left the group while the call was in flight`, { notExecuted: false, retryable: true });
}

export function fenced(epoch: number, fence: number): RpcError {
  return new RpcError('FENCED', `response from epoch ${epoch} refused: epoch ${fence} already verified`, { notExecuted: false, retryable: true });
}
