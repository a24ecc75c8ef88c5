/**
 * The one table of call error codes (DESIGN.md "Calls", plus PROTOCOL_ERROR for a peer that sent
 * a frame we cannot read). Everything that classifies a code reads it: RpcError's defaults
 * (transport), the retry policy (routing) and the client's health bookkeeping (ha).
 *
 * | code              | retryable | notExecuted | retry class | judges the endpoint  |
 * |-------------------|-----------|-------------|-------------|----------------------|
 * | UNAVAILABLE       | yes       | no          | member      | always               |
 * | NOT_PRIMARY       | yes       | yes         | rejected    | never                |
 * | DEADLINE_EXCEEDED | no        | no          | terminal    | when it was sent     |
 * | CANCELLED         | no        | no          | terminal    | never                |
 * | METHOD_NOT_FOUND  | no        | yes         | terminal    | never                |
 * | INVALID_ARGUMENT  | no        | no          | terminal    | never                |
 * | OVERLOADED        | yes       | yes         | rejected    | always               |
 * | PAYLOAD_TOO_LARGE | no        | no          | terminal    | never                |
 * | UNAUTHENTICATED   | no        | yes         | terminal    | never                |
 * | INTERNAL          | no        | no          | terminal    | never                |
 * | FENCED            | no        | no          | member      | never                |
 * | PROTOCOL_ERROR    | no        | yes         | member      | always               |
 *
 * - retryable / notExecuted: the defaults of an error that does not say otherwise (a sender that
 *   knows better — "never written", "written, outcome unknown" — sets them per error).
 * - retry class: rejected = refused before any handler ran, may go to another member;
 *   member = a fault of that member or the way to it, may go elsewhere only when known not
 *   executed or idempotent; terminal = another member would answer the same, or there is nothing
 *   left to retry for (the call's own deadline, the caller's own cancel, a handler that failed).
 * - judges the endpoint: whether the failure counts against the member's passive health (as
 *   opposed to the caller's request or the handler). A deadline counts only once the request was
 *   sent: a call that never left the queue says nothing about the member.
 */
export type RetryClass = 'rejected' | 'member' | 'terminal';
export type EndpointJudgement = 'always' | 'never' | 'when-sent';

export interface ErrorCodeTraits {
  readonly retryable: boolean;
  readonly notExecuted: boolean;
  readonly retryClass: RetryClass;
  readonly judgesEndpoint: EndpointJudgement;
}

function traits(retryable: boolean, notExecuted: boolean, retryClass: RetryClass, judgesEndpoint: EndpointJudgement): ErrorCodeTraits {
  return Object.freeze({ retryable, notExecuted, retryClass, judgesEndpoint });
}

export const ERROR_CODE_TABLE = Object.freeze({
  UNAVAILABLE: traits(true, false, 'member', 'always'),
  NOT_PRIMARY: traits(true, true, 'rejected', 'never'),
  DEADLINE_EXCEEDED: traits(false, false, 'terminal', 'when-sent'),
  CANCELLED: traits(false, false, 'terminal', 'never'),
  METHOD_NOT_FOUND: traits(false, true, 'terminal', 'never'),
  INVALID_ARGUMENT: traits(false, false, 'terminal', 'never'),
  OVERLOADED: traits(true, true, 'rejected', 'always'),
  PAYLOAD_TOO_LARGE: traits(false, false, 'terminal', 'never'),
  UNAUTHENTICATED: traits(false, true, 'terminal', 'never'),
  INTERNAL: traits(false, false, 'terminal', 'never'),
  FENCED: traits(false, false, 'member', 'never'),
  PROTOCOL_ERROR: traits(false, true, 'member', 'always'),
});

export type ErrorCode = keyof typeof ERROR_CODE_TABLE;

export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.keys(ERROR_CODE_TABLE) as ErrorCode[]);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODE_TABLE, value);
}

/** The traits of a code; undefined for a code not in the table (a newer peer's, or garbage). */
export function errorCodeTraits(code: unknown): ErrorCodeTraits | undefined {
  return isErrorCode(code) ? ERROR_CODE_TABLE[code] : undefined;
}

/** Whether a failed attempt counts against the member's health (see the table). */
export function judgesEndpoint(code: string, notExecuted: boolean): boolean {
  const t = errorCodeTraits(code);
  if (t === undefined) return false;
  return t.judgesEndpoint === 'always' || (t.judgesEndpoint === 'when-sent' && !notExecuted);
}
