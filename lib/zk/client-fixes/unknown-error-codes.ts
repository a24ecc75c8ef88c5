import * as nzc from 'node-zookeeper-client';
import type { ClientFix } from './client-fix';

/**
 * node-zookeeper-client 1.1.x knows only ZooKeeper 3.4's error codes: `Exception.create` throws
 * "Unknown code: -125" for any other (QUOTA_EXCEEDED, SESSION_MOVED, THROTTLED, ...), and since it
 * runs inside the socket data handler that throw kills the process. The library calls it as
 * `Exception.create(...)` on the module export, so replacing that one property reaches every call
 * site. Unknown codes become an ordinary Exception (same prototype, so `instanceof` and
 * `getCode()` still work) that the request's callback receives.
 */
const NEWER_CODES: Readonly<Record<number, string>> = {
  [-13]: 'NEW_CONFIG_NO_QUORUM',
  [-14]: 'RECONFIG_IN_PROGRESS',
  [-118]: 'SESSION_MOVED',
  [-119]: 'NOT_READONLY',
  [-120]: 'EPHEMERAL_ON_LOCAL_SESSION',
  [-121]: 'NO_WATCHER',
  [-122]: 'REQUEST_TIMEOUT',
  [-123]: 'RECONFIG_DISABLED',
  [-124]: 'SESSION_CLOSED_REQUIRE_SASL_AUTH',
  [-125]: 'QUOTA_EXCEEDED',
  [-127]: 'THROTTLED',
};

type ExceptionFactory = (code: number, path?: string) => nzc.Exception;

const FIXED = Symbol.for('zk-ha.client-fix.unknown-error-codes');

function knownCodes(): Set<number> {
  const codes = new Set<number>();
  for (const value of Object.values(nzc.Exception as unknown as Record<string, unknown>)) {
    if (typeof value === 'number') codes.add(value);
  }
  return codes;
}

export const unknownErrorCodes: ClientFix = {
  name: 'unknown-error-codes',
  apply(): void {
    const Exception = nzc.Exception as unknown as { create: ExceptionFactory; prototype: nzc.Exception; [FIXED]?: true };
    // Another copy of zk-ha in the same process may share this node-zookeeper-client.
    if (Exception[FIXED]) return;
    const original = Exception.create;
    const known = knownCodes();
    const create: ExceptionFactory = (code, path) => {
      if (typeof code !== 'number' || known.has(code)) return original(code, path);
      const name = NEWER_CODES[code] ?? 'UNKNOWN_SERVER_ERROR';
      const e = Object.create(Exception.prototype) as nzc.Exception & { message: string };
      Error.captureStackTrace(e, create);
      e.code = code;
      e.name = name;
      e.path = path;
      e.message = `Exception: ${name}[${code}]${path ? `@${path}` : ''}`;
      return e;
    };
    Exception.create = create;
    Exception[FIXED] = true;
  },
};
