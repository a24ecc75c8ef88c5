import type { ClientFix } from './client-fix';
import { corkedWrites } from './corked-writes';
import { persistentWatch } from './persistent-watch';
import { replyGuard } from './reply-guard';
import { socketReads } from './socket-reads';
import { unknownErrorCodes } from './unknown-error-codes';
import { watcherRegistration } from './watcher-registration';

export type { ClientFix } from './client-fix';
export { MALFORMED_REPLY_EVENT, DEFAULT_MAX_REPLY_BYTES } from './reply-guard';
export type { MalformedReplyInfo } from './reply-guard';

/**
 * Runtime fixes of node-zookeeper-client, applied when lib/zk loads so that every user of the
 * package gets them (no install script, no patch of node_modules). Each fix is one file here that
 * exports a ClientFix; add it to FIXES. integration/zk-defects.test.ts shows each defect on the
 * bare library and that the fix removes it.
 */
const FIXES: readonly ClientFix[] = [
  unknownErrorCodes,
  replyGuard,
  socketReads,
  corkedWrites,
  watcherRegistration,
  persistentWatch,
];

const applied: string[] = [];
let done = false;

/** Applies every fix once per process; later calls do nothing. Returns the names applied. */
export function applyClientFixes(): readonly string[] {
  if (done) return applied;
  done = true;
  for (const fix of FIXES) {
    fix.apply();
    applied.push(fix.name);
  }
  return applied;
}

export function appliedClientFixes(): readonly string[] {
  return applied;
}
