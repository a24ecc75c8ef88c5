import { expect } from 'chai';
import { ERROR_CODE_TABLE, ERROR_CODES, errorCodeTraits, isErrorCode, judgesEndpoint } from '../../lib/base/error-codes';
import { RpcError, RPC_ERROR_CODES } from '../../lib/transport';
import { CALL_ERROR_CODES } from '../../lib/routing';

describe('base/error-codes', () => {
  it('is the one list of codes that transport and routing expose', () => {
    expect(RPC_ERROR_CODES).to.equal(ERROR_CODES);
    expect(CALL_ERROR_CODES).to.equal(ERROR_CODES);
    expect(ERROR_CODES).to.have.length(12);
    for (const c of ['UNAVAILABLE', 'NOT_PRIMARY', 'DEADLINE_EXCEEDED', 'CANCELLED', 'METHOD_NOT_FOUND', 'INVALID_ARGUMENT',
      'OVERLOADED', 'PAYLOAD_TOO_LARGE', 'UNAUTHENTICATED', 'INTERNAL', 'FENCED', 'PROTOCOL_ERROR']) expect(isErrorCode(c), c).to.equal(true);
  });

  it("RpcError's defaults come from the table; an explicit value wins", () => {
    for (const code of ERROR_CODES) {
      const e = new RpcError(code, 'x');
      expect(e.retryable, code).to.equal(ERROR_CODE_TABLE[code].retryable);
      expect(e.notExecuted, code).to.equal(ERROR_CODE_TABLE[code].notExecuted);
    }
    expect(new RpcError('NOT_PRIMARY', 'x', { notExecuted: false }).notExecuted).to.equal(false);
  });

  it('judges the endpoint for member faults, and for a deadline only once the request was sent', () => {
    expect(judgesEndpoint('UNAVAILABLE', true)).to.equal(true);
    expect(judgesEndpoint('OVERLOADED', true)).to.equal(true);
    expect(judgesEndpoint('PROTOCOL_ERROR', false)).to.equal(true);
    expect(judgesEndpoint('DEADLINE_EXCEEDED', false)).to.equal(true);
    expect(judgesEndpoint('DEADLINE_EXCEEDED', true)).to.equal(false);
    for (const c of ['NOT_PRIMARY', 'CANCELLED', 'INVALID_ARGUMENT', 'INTERNAL', 'FENCED', 'METHOD_NOT_FOUND']) expect(judgesEndpoint(c, false), c).to.equal(false);
    expect(judgesEndpoint('NO_SUCH_CODE', false)).to.equal(false);
  });

  it('unknown codes have no traits', () => {
    expect(errorCodeTraits('toString')).to.equal(undefined);
    expect(errorCodeTraits(42)).to.equal(undefined);
  });
});
