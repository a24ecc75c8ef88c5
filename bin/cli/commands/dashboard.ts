import type { ZkSession } from '../../../lib/zk';
import { CliError, EXIT } from '../cli-error';
import { CliContext, openSession, print, printJson } from '../context';
import { untilSignal } from '../signals';
import { DashboardCollector } from '../dashboard/collector';
import { DashboardServer } from '../dashboard/server';

export interface DashboardCommandOptions {
  readonly host: string;
  readonly port: number;
  readonly service?: string[];
  /** Host names (besides addresses and localhost) the page may be reached by. */
  readonly allowedHost?: string[];
}

/**
 * `zk-ha dashboard`: serves a live status page of the services under --root (or only --service
 * ones) until SIGINT or SIGTERM. See docs/operators.md.
 */
export async function dashboardCommand(ctx: CliContext, o: DashboardCommandOptions): Promise<void> {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new CliError('USAGE', 'invalid --port: must be 0..65535', EXIT.usage);
  const signal = untilSignal();
  let session: ZkSession | undefined;
  let collector: DashboardCollector | undefined;
  let server: DashboardServer | undefined;
  try {
    const allowed = (o.allowedHost ?? []).map((h) => h.toLowerCase().replace(/\.$/, ''));
    for (const h of allowed) {
      if (!/^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/.test(h)) {
        throw new CliError('USAGE', `invalid --allowed-host ${JSON.stringify(h.slice(0, 100))}: a DNS name`, EXIT.usage);
      }
    }
    session = await openSession(ctx);
    collector = new DashboardCollector(session, ctx.root, o.service && o.service.length > 0 ? o.service : undefined);
    server = new DashboardServer(collector, undefined, allowed);
    // Listening first: the page shows what is known so far, and a service that cannot be read shows its error.
    const url = await server.listen(o.host, o.port).catch((error: Error) => {
      throw new CliError('UNREACHABLE', `cannot listen on ${o.host}:${o.port}: ${error.message}`);
    });
    await Promise.race([collector.start(), signal.stopped]);
    if (ctx.json) printJson({ event: 'listening', url });
    else print(`zk-ha dashboard at ${url} (Ctrl-C to stop)`);
    await signal.stopped;
  } finally {
    signal.dispose();
    await server?.close();
    collector?.stop();
    await session?.close();
  }
}
