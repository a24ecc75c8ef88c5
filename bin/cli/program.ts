import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { LIBRARY_VERSION } from '../../lib/coordination/member-record';
import { CliError, EXIT, toCliError } from './cli-error';
import { escapeControl } from './escape';
import { CliContext, DEFAULT_CONNECT, DEFAULT_TIMEOUT_MS, GlobalOptions, resolveContext } from './context';
import { electCommand, membersCommand, statusCommand } from './commands/status';
import { faultsCommand } from './commands/faults';
import { servicesCommand } from './commands/services';
import { watchCommand } from './commands/watch';
import { isrForceCommand, isrShowCommand } from './commands/isr';
import { haproxyCommand, HaproxyCommandOptions } from './commands/haproxy';
import { dashboardCommand, DashboardCommandOptions } from './commands/dashboard';

/**
 * An integer option within [min, max]. Bounded so that a typo cannot become an absurd wait: Node
 * timers fire at once for delays above 2^31-1 ms, which made `--timeout 99999999999` time out
 * after 1 ms. commander names the option in the message.
 */
export function integerOption(min: number, max: number, unit = ''): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}${unit}`);
    }
    return n;
  };
}

/** Upper bounds of the numeric options. */
export const MAX_TIMEOUT_MS = 600_000;
export const MAX_FAULTS_LIMIT = 10_000;

/** commander's own messages ("error: unknown option ...") in the same one-line form as ours. */
function writeUsageError(message: string, write: (text: string) => void): void {
  write(`zk-ha: ${message.replace(/^error: /, '')}`);
}

/** The `zk-ha` command tree. Actions receive validated global options. */
export function buildProgram(run: (action: (ctx: CliContext) => Promise<void>, globals: GlobalOptions) => Promise<void>): Command {
  const program = new Command('zk-ha')
    .description('Inspect zk-ha services in ZooKeeper: members, primary and epoch, live changes, the fault journal.')
    .version(LIBRARY_VERSION)
    .option('--connect <hosts>', `ZooKeeper connect string host:port[,host:port][/chroot] (default: $ZK_CONNECT or ${DEFAULT_CONNECT})`)
    .option('--root <path>', 'znode root of the services', '/zk-ha')
    .option('--auth <user:password>', 'digest credentials for ACL-protected services')
    .option('--json', 'machine output: one JSON document (watch: one JSON line per change)')
    .option('--timeout <ms>', 'give up connecting (and on each ZooKeeper request) after this long', integerOption(1, MAX_TIMEOUT_MS, ' (ms)'), DEFAULT_TIMEOUT_MS)
    .exitOverride()
    .configureOutput({ outputError: writeUsageError });

  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();

  program.command('status <service>')
    .description('mode, members in election order, the primary and its epoch')
    .action((service: string, _o: unknown, cmd: Command) => run((ctx) => statusCommand(ctx, service), globals(cmd)));
  program.command('members <service>')
    .description('the members in election order')
    .action((service: string, _o: unknown, cmd: Command) => run((ctx) => membersCommand(ctx, service), globals(cmd)));
  program.command('elect <service>')
    .description(`the primary and its epoch (exit code ${EXIT.noPrimary} when there is none)`)
    .action((service: string, _o: unknown, cmd: Command) => run((ctx) => electCommand(ctx, service), globals(cmd)));
  program.command('watch <service>')
    .description('print joins, departures, updates and leader changes until interrupted')
    .action((service: string, _o: unknown, cmd: Command) => run((ctx) => watchCommand(ctx, service), globals(cmd)));
  program.command('faults <service>')
    .description('the fault journal of a service, newest first')
    .option('--limit <n>', 'at most this many entries', integerOption(1, MAX_FAULTS_LIMIT), 50)
    .action((service: string, o: { limit: number }, cmd: Command) => run((ctx) => faultsCommand(ctx, service, o.limit), globals(cmd)));
  const isr = program.command('isr')
    .description('the in-sync set of a replicated service (docs/replication.md)');
  isr.command('show <service>')
    .description('epoch, committed index and the members in sync')
    .action((service: string, _o: unknown, cmd: Command) => run((ctx) => isrShowCommand(ctx, service), globals(cmd)));
  isr.command('force <service> <member-id>')
    .description('operator override when every in-sync member is lost: name this member in sync (acknowledged writes it lacks are lost); refused for an id no registered member has, or while a primary serves')
    .option('--even-if-primary-serves', 'force although a primary serves (only for a primary known to be stuck: its healthy set is replaced)')
    .action((service: string, memberId: string, o: { evenIfPrimaryServes?: boolean }, cmd: Command) =>
      run((ctx) => isrForceCommand(ctx, service, memberId, o.evenIfPrimaryServes === true), globals(cmd)));
  program.command('haproxy <service>')
    .description('keep an HAProxy backend in step with the group through the Runtime API (docs/haproxy.md)')
    .requiredOption('--socket <path|host:port>', "HAProxy's admin socket (stats socket ... level admin)")
    .requiredOption('--backend <name>', 'the backend whose servers zk-ha manages')
    .option('--prefix <prefix>', 'only servers with this name prefix are managed', 'zkha-')
    .option('--interval <ms>', 're-sync this often besides on every change', integerOption(50, 600_000, ' (ms)'), 1000)
    .option('--server-options <keywords>', 'check keywords of the servers added (default: inter 1000 fastinter 100 downinter 100 rise 1 fall 2 on-marked-down shutdown-sessions observe layer4 error-limit 1 on-error mark-down)')
    .option('--print-config <bind>', 'print a ready haproxy.cfg for the service (clients connect to <bind>, e.g. :8080) and exit')
    .action((service: string, o: HaproxyCommandOptions, cmd: Command) => run((ctx) => haproxyCommand(ctx, service, o), globals(cmd)));
  program.command('dashboard')
    .description('serve a live status page of the services (docs/operators.md)')
    .option('--host <host>', 'listen address (the page shows the cluster layout: keep it on loopback unless protected)', '127.0.0.1')
    .option('--port <port>', 'listen port (0 = any free one)', integerOption(0, 65535), 8090)
    .option('--service <name...>', 'only these services (default: every service under --root)')
    .option('--allowed-host <name...>', 'host names the page may be reached by, besides IP addresses and localhost (requests naming any other host are refused: DNS rebinding)')
    .action((o: DashboardCommandOptions, cmd: Command) => run((ctx) => dashboardCommand(ctx, o), globals(cmd)));
  program.command('services')
    .description('the services under the root')
    .action((_o: unknown, cmd: Command) => run((ctx) => servicesCommand(ctx), globals(cmd)));

  // Usage errors throw (and print one line) instead of exiting, so main() picks the exit code.
  for (const sub of [...program.commands, ...isr.commands]) sub.exitOverride().configureOutput({ outputError: writeUsageError });
  return program;
}

/**
 * Runs the command line and returns the exit code. Every failure is one line on stderr, never a
 * stack: usage errors exit 2, operational errors 1, `elect` without a primary 3.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const run = async (action: (ctx: CliContext) => Promise<void>, globals: GlobalOptions): Promise<void> => {
    let ctx: CliContext | undefined;
    try {
      ctx = resolveContext(globals);
      await action(ctx);
    } catch (error) {
      const failure = toCliError(error, ctx ?? { connect: globals.connect ?? '?', timeoutMs: globals.timeout ?? DEFAULT_TIMEOUT_MS, authGiven: globals.auth !== undefined });
      process.stderr.write(`zk-ha: ${escapeControl(failure.message)}\n`);
      exitCode = failure.exitCode;
    }
  };
  const program = buildProgram(run);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its one-line message (or the help / version, exit code 0).
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const failure = error instanceof CliError ? error : toCliError(error, { connect: '?', timeoutMs: DEFAULT_TIMEOUT_MS, authGiven: false });
    process.stderr.write(`zk-ha: ${escapeControl(failure.message)}\n`);
    return failure.exitCode;
  }
  return exitCode;
}
