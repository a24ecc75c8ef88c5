import { expect } from 'chai';
import type { CallErrorCode } from '../../lib/routing';
import { CALL_ERROR_CODES, canRetryElsewhere, isCallErrorCode } from '../../lib/routing';

/**
 * The table, written out independently of the implementation:
 * [code, notExecuted, idempotent] -> may retry elsewhere.
 */
const EXPECTED: Record<CallErrorCode, { notExecuted: boolean; idempotent: boolean; neither: boolean }> = {
  NOT_PRIMARY: { notExecuted: true, idempotent: true, neither: true },
  OVERLOADED: { notExecuted: true, idempotent: true, neither: true },
  UNAVAILABLE: { notExecuted: true, idempotent: true, neither: false },
  FENCED: { notExecuted: true, idempotent: true, neither: false },
  PROTOCOL_ERROR: { notExecuted: true, idempotent: true, neither: false },
  DEADLINE_EXCEEDED: { notExecuted: false, idempotent: false, neither: false },
  CANCELLED: { notExecuted: false, idempotent: false, neither: false },
  METHOD_NOT_FOUND: { notExecuted: false, idempotent: false, neither: false },
  INVALID_ARGUMENT: { notExecuted: false, idempotent: false, neither: false },
  PAYLOAD_TOO_LARGE: { notExecuted: false, idempotent: false, neither: false },
  UNAUTHENTICATED: { notExecuted: false, idempotent: false, neither: false },
  INTERNAL: { notExecuted: false, idempotent: false, neither: false },
};

describe('routing/retry-policy', () => {
  it('the table covers exactly the twelve codes', () => {
    expect([...CALL_ERROR_CODES].sort()).to.deep.equal(Object.keys(EXPECTED).sort());
    expect(CALL_ERROR_CODES).to.have.length(12);
  });

  for (const code of CALL_ERROR_CODES) {
    it(`${code}: all four combinations of notExecuted x idempotent`, () => {
      const e = EXPECTED[code];
      expect(canRetryElsewhere({ code, notExecuted: true }, false), 'not executed, not idempotent').to.equal(e.notExecuted);
      expect(canRetryElsewhere({ code, notExecuted: false }, true), 'executed?, idempotent').to.equal(e.idempotent);
      expect(canRetryElsewhere({ code, notExecuted: false }, false), 'executed?, not idempotent').to.equal(e.neither);
      // Not executed and idempotent: allowed iff either alone allows it.
      expect(canRetryElsewhere({ code, notExecuted: true }, true), 'both').to.equal(e.notExecuted || e.idempotent);
    });
  }

  it('unknown or malformed errors are never retried', () => {
    for (const code of ['', 'unavailable', 'OK', 'toString', '__proto__', 'constructor']) {
      expect(isCallErrorCode(code), code).to.equal(false);
      expect(canRetryElsewhere({ code, notExecuted: true }, true), code).to.equal(false);
    }
    expect(canRetryElsewhere(null as unknown as { code: string; notExecuted: boolean }, true)).to.equal(false);
    expect(canRetryElsewhere({ code: 42 as unknown as string, notExecuted: true }, true)).to.equal(false);
    // Only a literal true counts: a truthy non-boolean is not proof of non-execution.
    expect(canRetryElsewhere({ code: 'UNAVAILABLE', notExecuted: 'yes' as unknown as boolean }, false)).to.equal(false);
  });
});
