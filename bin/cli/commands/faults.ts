import { readJournal } from '../../../lib/coordination/fault-journal';
import { CliContext, pathsOf, print, printJson, requireService, withSession } from '../context';
import { faultsTable } from '../format';

/** `zk-ha faults <service> [--limit N]`: the fault journal, newest first. */
export async function faultsCommand(ctx: CliContext, service: string, limit: number): Promise<void> {
  const paths = pathsOf(service, ctx);
  const reports = await withSession(ctx, async (session) => {
    await requireService(session, paths);
    return readJournal(session, paths, limit);
  });
  if (ctx.json) printJson(reports);
  else print(faultsTable(reports));
}
