import type { MembershipView, ServiceMode } from '../../../lib/coordination';
import type { ZkSession } from '../../../lib/zk';
import { CliContext, openSession, pathsOf, print, printJson, requireService } from '../context';
import { untilSignal } from '../signals';
import { escapeControl } from '../escape';
import { primaryLine, statusText } from '../format';
import { memberRow, MemberRow, startView, stateOf } from '../service-state';

/** One line of `zk-ha watch --json`. */
export type WatchLine =
  | { event: 'snapshot'; at: string; service: string; mode: ServiceMode; members: readonly MemberRow[]; primary: MemberRow | null; epoch: number | null }
  | { event: 'joined' | 'left' | 'updated'; at: string; member: MemberRow }
  | { event: 'leader'; at: string; member: MemberRow | null; epoch: number | null }
  | { event: 'connection'; at: string; state: 'suspended' | 'reconnected' | 'lost' | 'new-session' };

/**
 * `zk-ha watch <service>`: prints the current state, then every change, until SIGINT or SIGTERM;
 * then closes the session and returns (exit code 0). While ZooKeeper is unreachable the view
 * keeps its last snapshot and says so; it resumes by itself.
 */
export async function watchCommand(ctx: CliContext, service: string): Promise<void> {
  const paths = pathsOf(service, ctx);
  const signal = untilSignal();
  let session: ZkSession | undefined;
  let view: MembershipView | undefined;
  try {
    const opening = openSession(ctx);
    session = await Promise.race([opening, signal.stopped.then(() => undefined)]);
    if (!session) {
      // Interrupted while connecting: whatever session still comes up is closed at once.
      void opening.then((s) => s.close(), () => undefined);
      return;
    }
    const node = await requireService(session, paths);
    const started = await startView(session, paths, ctx.timeoutMs);
    view = started.view;
    const state = stateOf(paths, node.mode, started.snapshot, started.invalid);
    const out = (line: WatchLine, text: string): void => (ctx.json ? printJson(line) : print(`${line.at}  ${text}`));
    const now = (): string => new Date().toISOString();

    if (ctx.json) {
      printJson({ event: 'snapshot', at: now(), service: state.service, mode: state.mode, members: state.members, primary: state.primary, epoch: state.epoch } satisfies WatchLine);
    } else {
      print(`${statusText(state)}\n\nwatching ${paths.servicePath} (Ctrl-C to stop)`);
    }
    view.on('change', ({ joined, left, updated }) => {
      for (const m of left) out({ event: 'left', at: now(), member: memberRow(m) }, `left     ${describeMember(memberRow(m))}`);
      for (const m of joined) out({ event: 'joined', at: now(), member: memberRow(m) }, `joined   ${describeMember(memberRow(m))}`);
      for (const m of updated) out({ event: 'updated', at: now(), member: memberRow(m) }, `updated  ${describeMember(memberRow(m))}`);
    });
    if (node.mode === 'primary-backup') {
      view.on('leader', ({ member, epoch }) => {
        const row = member ? memberRow(member) : null;
        out({ event: 'leader', at: now(), member: row, epoch: epoch ?? null },
          `leader   ${primaryLine({ mode: node.mode, primary: row, epoch: epoch ?? null })}`);
      });
    }
    view.on('invalid', ({ path, error }) => process.stderr.write(`zk-ha: ${escapeControl(`skipped unreadable member node ${path}: ${error.message}`)}\n`));
    // The view retries by itself; errors are only worth a note.
    view.on('error', () => undefined);
    const connection = (state: 'suspended' | 'reconnected' | 'lost' | 'new-session') => (): void =>
      out({ event: 'connection', at: now(), state }, `zookeeper ${state}${state === 'suspended' || state === 'lost' ? ' (showing the last known members)' : ''}`);
    session.on('suspended', connection('suspended'));
    session.on('reconnected', connection('reconnected'));
    session.on('lost', connection('lost'));
    session.on('session', connection('new-session'));
    await signal.stopped;
  } finally {
    signal.dispose();
    view?.stop();
    await session?.close();
  }
}

function describeMember(m: MemberRow): string {
  return escapeControl(`${m.id} ${m.url} seq=${m.sequence}${m.zone ? ` zone=${m.zone}` : ''} host=${m.host} pid=${m.pid}`);
}
