import { CliContext, pathsOf, print, printJson, requireService, withSession } from '../context';
import { CliError, EXIT } from '../cli-error';
import { membersTable, primaryLine, statusText } from '../format';
import { ServiceState, startView, stateOf } from '../service-state';

/** Reads the service node and a first membership snapshot, then lets go of both. */
export async function loadState(ctx: CliContext, service: string): Promise<ServiceState> {
  const paths = pathsOf(service, ctx);
  return withSession(ctx, async (session) => {
    const node = await requireService(session, paths);
    const { view, snapshot, invalid } = await startView(session, paths, ctx.timeoutMs);
    view.stop();
    return stateOf(paths, node.mode, snapshot, invalid);
  });
}

/** `zk-ha status <service>`: mode, members in election order, primary and epoch. */
export async function statusCommand(ctx: CliContext, service: string): Promise<void> {
  const state = await loadState(ctx, service);
  if (ctx.json) printJson(state);
  else print(statusText(state));
}

/** `zk-ha members <service>`: the member list only (a JSON array with --json). */
export async function membersCommand(ctx: CliContext, service: string): Promise<void> {
  const state = await loadState(ctx, service);
  if (ctx.json) printJson(state.members);
  else print(membersTable(state.members));
}

/** `zk-ha elect <service>`: the primary and its epoch; exit code 3 when there is none. */
export async function electCommand(ctx: CliContext, service: string): Promise<void> {
  const state = await loadState(ctx, service);
  if (ctx.json) {
    printJson({ service: state.service, mode: state.mode, primary: state.primary, epoch: state.epoch });
  } else if (state.primary) {
    print(`primary: ${primaryLine(state)}`);
  }
  if (!state.primary) {
    // In --json mode the document above already says so; stderr still gets the one line.
    throw new CliError('NO_PRIMARY', `no primary for ${JSON.stringify(state.service)}: ${primaryLine(state)}`, EXIT.noPrimary);
  }
}
