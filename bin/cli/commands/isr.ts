import { forceInSync, InSyncSet } from '../../../lib/coordination/in-sync-set';
import { CliContext, pathsOf, print, requireService, withSession } from '../context';

/** `zk-ha isr show <service>`: the in-sync set of a replicated service. */
export async function isrShowCommand(ctx: CliContext, service: string): Promise<void> {
  const paths = pathsOf(service, ctx);
  const current = await withSession(ctx, async (session) => {
    await requireService(session, paths);
    return new InSyncSet(session, paths, { mayWrite: () => false }).read();
  });
  if (ctx.json) {
    print(JSON.stringify(current?.record ?? null));
    return;
  }
  if (!current) {
    print(`${service}: no in-sync set (the service has not replicated anything)`);
    return;
  }
  const r = current.record;
  print(`${service}: epoch ${r.epoch}, committed index ${r.committedIndex}${r.forced ? ' (FORCED by an operator)' : ''}`);
  for (const m of r.members) print(`  ${m}`);
}

/**
 * `zk-ha isr force <service> <member-id>`: the operator override after every in-sync member is
 * lost. Names one member in sync whatever it holds; acknowledged writes it never received are
 * lost. The service otherwise waits rather than promote a stale member.
 */
export async function isrForceCommand(ctx: CliContext, service: string, memberId: string): Promise<void> {
  const paths = pathsOf(service, ctx);
  const record = await withSession(ctx, async (session) => {
    await requireService(session, paths);
    return forceInSync(session, paths, memberId);
  });
  print(ctx.json ? JSON.stringify(record) : `${service}: in-sync set forced to ${memberId} (acknowledged writes it lacks are lost)`);
}
