import { ZkHaError } from '../base/errors';

export type CoordinationErrorCode = 'MODE_MISMATCH' | 'BAD_MEMBER_RECORD' | 'BAD_SERVICE_NODE' | 'NOT_REGISTERED' | 'CLOSED' | 'ACL_TOO_OPEN';

export class CoordinationError extends ZkHaError<CoordinationErrorCode> {}
