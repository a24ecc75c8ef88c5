import { describeUntrusted } from '../base/untrusted';

/**
 * Protocol version negotiation. The client sends its version in an upgrade request header and
 * the server answers with its own in the upgrade response; either side refuses a peer with
 * another MAJOR version (minor versions only add optional fields and stay compatible).
 */
// 2.0: requests carry the remaining time (timeoutMs) instead of an absolute wall-clock deadline.
export const PROTOCOL_VERSION = '2.0';
export const PROTOCOL_HEADER = 'x-zk-ha-protocol';
/** Set on a refused upgrade: the RpcErrorCode the client should raise, and a human message. */
export const REFUSAL_CODE_HEADER = 'x-zk-ha-error';
export const REFUSAL_MESSAGE_HEADER = 'x-zk-ha-message';

/** The major version of "MAJOR.MINOR", or undefined when the text is not a version. */
export function majorOf(version: unknown): number | undefined {
  if (typeof version !== 'string') return undefined;
  const m = /^(\d{1,6})\.(\d{1,6})$/.exec(version.trim());
  return m ? Number(m[1]) : undefined;
}

/** Undefined when compatible, otherwise why not (for the refusal message). */
export function incompatibility(ours: string, theirs: unknown): string | undefined {
  const a = majorOf(ours);
  const b = majorOf(theirs);
  if (b === undefined) {
    return `peer sent no valid zk-ha protocol version (header ${PROTOCOL_HEADER}: ${describeUntrusted(Array.isArray(theirs) ? theirs[0] : theirs ?? null)}); this side speaks ${ours}`;
  }
  if (a !== b) return `protocol major version mismatch: this side speaks ${ours}, peer speaks ${describeUntrusted(theirs)}`;
  return undefined;
}

/** Header values must be latin1 without control characters. */
export function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 500);
}
