import { InvalidOptionError } from '../../lib/base/errors';
import { DEFAULT_ROOT, readServiceNode, servicePaths } from '../../lib/coordination';
import type { ServiceNodeData, ServicePaths } from '../../lib/coordination';
import { parseConnectString, ZkError, ZkSession } from '../../lib/zk';
import { CliError, EXIT, FailureContext } from './cli-error';
import { escapeControl, escapeJson } from './escape';

export const DEFAULT_CONNECT = '127.0.0.1:2181';
export const DEFAULT_TIMEOUT_MS = 5000;

/** The global options as commander hands them over (strings; validated here). */
export interface GlobalOptions {
  readonly connect?: string;
  readonly root?: string;
  readonly auth?: string;
  readonly json?: boolean;
  readonly timeout?: number;
}

/** Validated global options plus the session they open. */
export interface CliContext extends FailureContext {
  readonly root: string;
  readonly json: boolean;
  readonly auth: string | undefined;
}

export function resolveContext(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): CliContext {
  const connect = options.connect ?? env.ZK_CONNECT ?? DEFAULT_CONNECT;
  try {
    parseConnectString(connect);
  } catch (error) {
    if (error instanceof InvalidOptionError) {
      const from = options.connect === undefined && env.ZK_CONNECT !== undefined ? ' (from ZK_CONNECT)' : '';
      throw new CliError('USAGE', `invalid --connect${from}: ${error.message.replace(/^option "[^"]*": /, '')}`, EXIT.usage);
    }
    throw error;
  }
  const root = options.root ?? DEFAULT_ROOT;
  // servicePaths validates the root; the service name is checked per command.
  try {
    servicePaths('probe', root);
  } catch (error) {
    if (error instanceof InvalidOptionError) throw new CliError('USAGE', `invalid --root: must be an absolute znode path like "/zk-ha", got ${JSON.stringify(root)}`, EXIT.usage);
    throw error;
  }
  const auth = options.auth;
  if (auth !== undefined && !/^[^:]+:.+$/.test(auth)) {
    throw new CliError('USAGE', 'invalid --auth: must be user:password', EXIT.usage);
  }
  return { connect, root, json: options.json === true, auth, timeoutMs: options.timeout ?? DEFAULT_TIMEOUT_MS, authGiven: auth !== undefined };
}

/**
 * Opens a read-only observer session: 'read' lease probes (it holds no lease), every request
 * bounded by --timeout so that a ZooKeeper that stops answering fails the command instead of
 * hanging it.
 */
export async function openSession(ctx: CliContext): Promise<ZkSession> {
  const session = new ZkSession({
    connect: ctx.connect,
    sessionTimeoutMs: 10_000,
    startTimeoutMs: ctx.timeoutMs,
    requestTimeoutMs: ctx.timeoutMs,
    leaseProbe: 'read',
    auth: ctx.auth === undefined ? [] : [{ scheme: 'digest', credentials: ctx.auth }],
  });
  // A session that cannot start closes itself; the caller maps the TIMEOUT to "cannot reach".
  await session.start();
  return session;
}

export function pathsOf(service: string, ctx: CliContext): ServicePaths {
  try {
    return servicePaths(service, ctx.root);
  } catch (error) {
    if (error instanceof InvalidOptionError) {
      throw new CliError('USAGE', `invalid service name ${JSON.stringify(service.length > 100 ? `${service.slice(0, 100)}…` : service)}: use letters, digits, "_", ".", "-"`, EXIT.usage);
    }
    throw error;
  }
}

/** Reads the service node; a missing one is the user's "no service" error, not a stack trace. */
export async function requireService(session: ZkSession, paths: ServicePaths): Promise<ServiceNodeData> {
  try {
    return await readServiceNode(session, paths);
  } catch (error) {
    if (error instanceof ZkError && error.code === 'NO_NODE') {
      throw new CliError('NO_SERVICE', `no service ${JSON.stringify(paths.service)} under ${paths.root}`);
    }
    throw error;
  }
}

/** Opens a session, runs `fn`, and closes the session whatever happens. */
export async function withSession<T>(ctx: CliContext, fn: (session: ZkSession) => Promise<T>): Promise<T> {
  const session = await openSession(ctx);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/**
 * One line (or block) on stdout. Control characters within each line are shown escaped (see
 * escape.ts); fields that could carry a newline are escaped where they are formatted.
 */
export function print(text: string): void {
  process.stdout.write(`${text.split('\n').map(escapeControl).join('\n')}\n`);
}

/** One JSON document (or JSON line) on stdout, safe for a terminal and still valid JSON. */
export function printJson(value: unknown): void {
  process.stdout.write(`${escapeJson(JSON.stringify(value))}\n`);
}
