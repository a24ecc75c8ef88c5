import { readServiceNode, servicePaths, sortMemberNames } from '../../../lib/coordination';
import type { ServiceMode } from '../../../lib/coordination';
import { ZkError, ZkSession } from '../../../lib/zk';
import { CliContext, print, printJson, withSession } from '../context';
import { table } from '../format';

export interface ServiceRow {
  readonly service: string;
  /** null when the node under the root is not a zk-ha service (its data does not parse). */
  readonly mode: ServiceMode | null;
  /** null when the service cannot be read (see error). */
  readonly members: number | null;
  /** Why the service could not be read (its ACL denies us): one service never hides the others. */
  readonly error?: string;
}

const DENIED = new Set(['NO_AUTH', 'AUTH_FAILED', 'INVALID_ACL']);

/** `zk-ha services`: every service under the root, with its mode and member count. */
export async function servicesCommand(ctx: CliContext): Promise<void> {
  const rows = await withSession(ctx, (session) => listServices(session, ctx.root));
  if (ctx.json) printJson(rows);
  else if (rows.length === 0) print(`(no services under ${ctx.root})`);
  else print(table([['SERVICE', 'MODE', 'MEMBERS'], ...rows.map((r) => [r.service, r.mode ?? '?', r.error ?? String(r.members)])]));
}

async function listServices(session: ZkSession, root: string): Promise<ServiceRow[]> {
  let names: string[];
  try {
    names = (await session.children(root)).children;
  } catch (error) {
    if (error instanceof ZkError && error.code === 'NO_NODE') return []; // nothing registered yet
    throw error;
  }
  const rows: ServiceRow[] = [];
  for (const name of names.sort()) {
    let paths;
    try {
      paths = servicePaths(name, root);
    } catch {
      continue; // not a service name zk-ha would create
    }
    try {
      const mode = await readServiceNode(session, paths).then((n): ServiceMode | null | 'gone' => n.mode, (error: unknown) => {
        if (error instanceof ZkError && error.code === 'NO_NODE') return 'gone'; // removed since the listing
        if (error instanceof ZkError) throw error;
        return null; // data that is not a service node
      });
      if (mode === 'gone') continue;
      const members = await session.children(paths.members).then(
        ({ children }) => sortMemberNames(children).length,
        (error: unknown) => {
          if (error instanceof ZkError && error.code === 'NO_NODE') return 0;
          throw error;
        },
      );
      rows.push({ service: name, mode, members });
    } catch (error) {
      // A service whose ACL denies us is listed as such; anything else (the connection) is not ours to hide.
      if (!(error instanceof ZkError && DENIED.has(error.code))) throw error;
      rows.push({ service: name, mode: null, members: null, error: `unreadable (${error.code}: pass --auth user:password)` });
    }
  }
  return rows;
}
