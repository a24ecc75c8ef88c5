import { InSyncSet } from '../../../lib/coordination/in-sync-set';
import { forceInSync } from '../../../lib/coordination/isr-override';
import { CliContext, pathsOf, print, printJson, requireService, withSession } from '../context';
import { escapeControl } from '../escape';

/** `zk-ha isr show <service>`: the in-sync set of a replicated service. */
export async function isrShowCommand(ctx: CliContext, service: string): Promise<void> {
  const paths = pathsOf(service, ctx);
  const current = await withSession(ctx, async (session) => {
    await requireService(session, paths);
    return new InSyncSet(session, paths, { mayWrite: () => false }).read();
  });
  if (ctx.json) {
    printJson(current?.record ?? null);
    return;
  }
  if (!current) {
    print(`${service}: no in-sync set (the service has not replicated anything)`);
    return;
  }
  const r = current.record;
  print(`${service}: epoch ${r.epoch}, committed index ${r.committedIndex}${r.forced ? ' (FORCED by an operator)' : ''}`);
  // Member keys are whatever the znode holds: one per line, control characters (a newline too) escaped.
  for (const m of r.members) print(`  ${escapeControl(String(m))}`);
}

/**
 * `zk-ha isr force <service> <member-id>`: the operator override after every in-sync member is
 * lost. Names one member in sync whatever it holds; acknowledged writes it never received are
 * lost. The service otherwise waits rather than promote a stale member. Refused for an id no
 * registered member has, a service without a set, and (unless told) one whose primary serves.
 */
export async function isrForceCommand(ctx: CliContext, service: string, memberId: string, evenIfPrimaryServes = false): Promise<void> {
  const paths = pathsOf(service, ctx);
  const record = await withSession(ctx, async (session) => {
    await requireService(session, paths);
    return forceInSync(session, paths, memberId, { evenIfPrimaryServes, timeoutMs: ctx.timeoutMs });
  });
  if (ctx.json) printJson(record);
  else print(`${service}: in-sync set forced to ${memberId} (acknowledged writes it lacks are lost)`);
}
