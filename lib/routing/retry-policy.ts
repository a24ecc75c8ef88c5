/**
 * The call error codes of the wire protocol (DESIGN.md "Calls"), plus PROTOCOL_ERROR for a peer
 * that sent a frame we cannot read.
 */
export const CALL_ERROR_CODES = [
  'UNAVAILABLE',
  'NOT_PRIMARY',
  'DEADLINE_EXCEEDED',
  'CANCELLED',
  'METHOD_NOT_FOUND',
  'INVALID_ARGUMENT',
  'OVERLOADED',
  'PAYLOAD_TOO_LARGE',
  'UNAUTHENTICATED',
  'INTERNAL',
  'FENCED',
  'PROTOCOL_ERROR',
] as const;

export type CallErrorCode = (typeof CALL_ERROR_CODES)[number];

export interface RetryableError {
  code: string;
  /** True when the call is known not to have run: never written, or the connection was refused. */
  notExecuted: boolean;
}

/**
 * How each code is treated when deciding whether a failed attempt may go to another member:
 *
 * | code              | class     | not executed | executed or unknown, idempotent | … not idempotent |
 * |-------------------|-----------|--------------|---------------------------------|------------------|
 * | NOT_PRIMARY       | rejected  | retry        | retry                           | retry            |
 * | OVERLOADED        | rejected  | retry        | retry                           | retry            |
 * | UNAVAILABLE       | member    | retry        | retry                           | no               |
 * | FENCED            | member    | retry        | retry                           | no               |
 * | PROTOCOL_ERROR    | member    | retry        | retry                           | no               |
 * | DEADLINE_EXCEEDED | terminal  | no           | no                              | no               |
 * | CANCELLED         | terminal  | no           | no                              | no               |
 * | METHOD_NOT_FOUND  | terminal  | no           | no                              | no               |
 * | INVALID_ARGUMENT  | terminal  | no           | no                              | no               |
 * | PAYLOAD_TOO_LARGE | terminal  | no           | no                              | no               |
 * | UNAUTHENTICATED   | terminal  | no           | no                              | no               |
 * | INTERNAL          | terminal  | no           | no                              | no               |
 * | any other code    | terminal  | no           | no                              | no               |
 *
 * - rejected: the server refuses these before running the handler, so the call did not execute.
 * - member: a fault of that member or its connection (gone, stale primary, unreadable frame);
 *   another member may succeed, but the call may have run, so only when known not executed or
 *   idempotent.
 * - terminal: another member would answer the same (the request or the caller is at fault, or
 *   the handler failed), or there is nothing left to retry for: the deadline is the call's
 *   overall deadline and CANCELLED is the caller's own abort. INTERNAL is a handler failure and
 *   is not retried (it would likely fail again, and it did run). Unknown codes are terminal.
 */
const CLASS_OF: Readonly<Record<CallErrorCode, 'rejected' | 'member' | 'terminal'>> = Object.freeze({
  NOT_PRIMARY: 'rejected',
  OVERLOADED: 'rejected',
  UNAVAILABLE: 'member',
  FENCED: 'member',
  PROTOCOL_ERROR: 'member',
  DEADLINE_EXCEEDED: 'terminal',
  CANCELLED: 'terminal',
  METHOD_NOT_FOUND: 'terminal',
  INVALID_ARGUMENT: 'terminal',
  PAYLOAD_TOO_LARGE: 'terminal',
  UNAUTHENTICATED: 'terminal',
  INTERNAL: 'terminal',
});

export function isCallErrorCode(code: unknown): code is CallErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(CLASS_OF, code);
}

/** Whether a failed attempt may be sent again to another member (see the table above). */
export function canRetryElsewhere(err: RetryableError, idempotent: boolean): boolean {
  if (err === null || typeof err !== 'object' || !isCallErrorCode(err.code)) return false;
  switch (CLASS_OF[err.code]) {
    case 'rejected':
      return true;
    case 'member':
      return err.notExecuted === true || idempotent === true;
    case 'terminal':
      return false;
  }
}
