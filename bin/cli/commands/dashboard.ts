import type { ZkSession } from '../../../lib/zk';
import { CliError, EXIT } from '../cli-error';
import { CliContext, openSession, print } from '../context';
import { untilSignal } from '../signals';
import { DashboardCollector } from '../dashboard/collector';
import { DashboardServer } from '../dashboard/server';

export interface DashboardCommandOptions {
  readonly host: string;
  readonly port: number;
  readonly service?: string[];
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
    session = await openSession(ctx);
    collector = new DashboardCollector(session, ctx.root, o.service && o.service.length > 0 ? o.service : undefined);
    await collector.start();
    server = new DashboardServer(collector);
    const url = await server.listen(o.host, o.port).catch((error: Error) => {
      throw new CliError('UNREACHABLE', `cannot listen on ${o.host}:${o.port}: ${error.message}`);
    });
    print(ctx.json ? JSON.stringify({ event: 'listening', url }) : `zk-ha dashboard at ${url} (Ctrl-C to stop)`);
    await signal.stopped;
  } finally {
    signal.dispose();
    await server?.close();
    collector?.stop();
    await session?.close();
  }
}
