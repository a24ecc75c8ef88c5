import { ERROR_CODE_TABLE, ERROR_CODES, isErrorCode } from '../base/error-codes';
import type { ErrorCode } from '../base/error-codes';

/** The call error codes (the table in base/error-codes.ts). */
export const CALL_ERROR_CODES: readonly ErrorCode[] = ERROR_CODES;

export type CallErrorCode = ErrorCode;

export interface RetryableError {
  code: string;
  /** True when the call is known not to have run: never written, or the connection was refused. */
  notExecuted: boolean;
}

export const isCallErrorCode: (code: unknown) => code is CallErrorCode = isErrorCode;

/**
 * Whether a failed attempt may go to another member, by the code's retry class (base/error-codes.ts):
 *
 * | class    | not executed | executed or unknown, idempotent | … not idempotent |
 * |----------|--------------|---------------------------------|------------------|
 * | rejected | retry        | retry                           | retry            |
 * | member   | retry        | retry                           | no               |
 * | terminal | no           | no                              | no               |
 *
 * Unknown codes are terminal.
 */
export function canRetryElsewhere(err: RetryableError, idempotent: boolean): boolean {
  if (err === null || typeof err !== 'object' || !isCallErrorCode(err.code)) return false;
  switch (ERROR_CODE_TABLE[err.code].retryClass) {
    case 'rejected':
      return true;
    case 'member':
      return err.notExecuted === true || idempotent === true;
    case 'terminal':
      return false;
  }
}
