import type { MembershipView } from '../../../lib/coordination';
import type { ZkSession } from '../../../lib/zk';
import { CliError, EXIT } from '../cli-error';
import { CliContext, openSession, pathsOf, print, printJson, requireService } from '../context';
import { untilSignal } from '../signals';
import { startView } from '../service-state';
import { HaproxyBridge, ownedServerKeyword } from '../haproxy/bridge';
import { renderHaproxyConfig } from '../haproxy/config';
import { RuntimeApi } from '../haproxy/runtime-api';

export interface HaproxyCommandOptions {
  readonly socket: string;
  readonly backend: string;
  readonly prefix: string;
  readonly interval: number;
  readonly serverOptions?: string;
  readonly printConfig?: string;
}

/**
 * `zk-ha haproxy <service> --socket <admin socket> --backend <name>`: keeps the backend's servers
 * in step with the group (docs/haproxy.md) until SIGINT or SIGTERM. Re-syncs on every membership
 * change and every --interval ms (to finish deletions and to repopulate a restarted HAProxy).
 */
export async function haproxyCommand(ctx: CliContext, service: string, o: HaproxyCommandOptions): Promise<void> {
  const paths = pathsOf(service, ctx);
  if (!/^[A-Za-z0-9_.:-]+$/.test(o.backend)) throw new CliError('USAGE', `invalid --backend ${JSON.stringify(o.backend)}`, EXIT.usage);
  if (!/^[A-Za-z0-9_.-]*$/.test(o.prefix)) throw new CliError('USAGE', `invalid --prefix ${JSON.stringify(o.prefix)}`, EXIT.usage);
  if (o.serverOptions !== undefined && !/^[A-Za-z0-9 _.:/-]+$/.test(o.serverOptions)) {
    throw new CliError('USAGE', `invalid --server-options ${JSON.stringify(o.serverOptions)}`, EXIT.usage);
  }
  // The bridge sets these itself from each member's record; given here they would win in HAProxy,
  // never match what the bridge expects, and have every server re-created on every sync.
  const owned = ownedServerKeyword(o.serverOptions ?? '');
  if (owned !== undefined) {
    throw new CliError('USAGE', `invalid --server-options: "${owned}" is set by the bridge from each member's record`, EXIT.usage);
  }
  validateSocket(o.socket);
  // Both go into haproxy.cfg as written: a newline would add directives of its own.
  if (o.printConfig !== undefined && !/^[A-Za-z0-9_.:[\]*-]+$/.test(o.printConfig)) {
    throw new CliError('USAGE', `invalid --print-config ${JSON.stringify(o.printConfig.slice(0, 100))}: expected a bind address such as :8080 or 127.0.0.1:8080`, EXIT.usage);
  }
  if (o.printConfig !== undefined) {
    const session = await openSession(ctx);
    try {
      const node = await requireService(session, paths);
      print(renderHaproxyConfig({ bind: o.printConfig, socket: o.socket, backend: o.backend, mode: node.mode }));
    } finally {
      await session.close();
    }
    return;
  }
  const api = new RuntimeApi(o.socket);
  // Fail now, with a clear message, if the socket or the backend is wrong.
  const stat = await api.command('show stat').catch((error: Error) => {
    throw new CliError('UNREACHABLE', `${error.message} (is "stats socket ... level admin" in haproxy.cfg?)`);
  });
  if (!stat.split('\n').some((l) => l.startsWith(`${o.backend},BACKEND,`))) {
    throw new CliError('USAGE', `HAProxy has no backend "${o.backend}"`, EXIT.usage);
  }
  // `show stat` works at any level; adding servers needs "level admin", and a lower one answers
  // "Permission denied" to every change: ask with a change that touches nothing (no such server).
  const level = await api.command(`set server ${o.backend}/${o.prefix}admin-level-check weight 1`);
  if (/permission denied/i.test(level)) {
    throw new CliError('USAGE', `HAProxy's socket ${o.socket} does not allow changes (${level.split('\n')[0]}): it needs "stats socket ... level admin" in haproxy.cfg`, EXIT.usage);
  }
  const signal = untilSignal();
  let session: ZkSession | undefined;
  let view: MembershipView | undefined;
  let timer: NodeJS.Timeout | undefined;
  let bridge: HaproxyBridge | undefined;
  try {
    session = await openSession(ctx);
    const node = await requireService(session, paths);
    const started = await startView(session, paths, ctx.timeoutMs);
    view = started.view;
    const at = (): string => new Date().toISOString();
    bridge = new HaproxyBridge({
      api, backend: o.backend, mode: node.mode, prefix: o.prefix, serverOptions: o.serverOptions,
      log: (l) => (ctx.json ? printJson({ at: at(), ...l }) : print(`${at()}  ${l.action.padEnd(9)} ${l.server}${l.detail ? `  ${l.detail}` : ''}`)),
    });
    if (!ctx.json) print(`${at()}  keeping HAProxy backend "${o.backend}" in step with ${paths.servicePath} (${node.mode}); Ctrl-C to stop`);
    const b = bridge;
    void b.sync(started.snapshot);
    view.on('change', ({ snapshot }) => void b.sync(snapshot));
    view.on('error', () => undefined);
    timer = setInterval(() => void b.sync(), o.interval);
    await signal.stopped;
  } finally {
    signal.dispose();
    if (timer) clearInterval(timer);
    bridge?.stop();
    view?.stop();
    await session?.close();
  }
}

/**
 * HAProxy's admin socket: a unix socket path (no control characters or spaces: it is written into
 * haproxy.cfg) or host:port with a port 1..65535.
 */
function validateSocket(socket: string): void {
  const bad = (why: string): CliError => new CliError('USAGE', `invalid --socket ${JSON.stringify(socket.slice(0, 100))}: ${why}`, EXIT.usage);
  if (socket === '') throw bad('empty');
  for (let i = 0; i < socket.length; i++) {
    const c = socket.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw bad('no spaces or control characters');
  }
  const hostPort = /^(.*):(\d+)$/.exec(socket);
  if (hostPort && !socket.includes('/')) {
    const port = Number(hostPort[2]);
    if (!(port >= 1 && port <= 65535)) throw bad('port must be 1..65535');
    if (hostPort[1] === '') throw bad('host:port needs a host');
  }
}
