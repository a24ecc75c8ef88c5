import { InvalidOptionError, ZkHaError } from '../../lib/base/errors';
import { ZkError } from '../../lib/zk';

/** Exit codes of `zk-ha` (documented in docs/operations.md). */
export const EXIT = {
  ok: 0,
  /** ZooKeeper unreachable, permission denied, missing service, any ZooKeeper error. */
  failure: 1,
  /** Bad command line: unknown option, malformed value. */
  usage: 2,
  /** `elect`: the service has no primary right now. */
  noPrimary: 3,
} as const;

export type CliErrorCode = 'UNREACHABLE' | 'NO_SERVICE' | 'PERMISSION_DENIED' | 'USAGE' | 'NO_PRIMARY' | 'ZOOKEEPER';

/** An error the command line prints as one line on stderr before exiting with `exitCode`. */
export class CliError extends ZkHaError<CliErrorCode> {
  constructor(code: CliErrorCode, message: string, readonly exitCode: number = EXIT.failure) {
    super(code, message);
  }
}

/** What the command was doing when it failed, so the message can say where. */
export interface FailureContext {
  readonly connect: string;
  readonly timeoutMs: number;
  readonly authGiven: boolean;
}

/** Turns whatever a command threw into the one-line message and exit code the user sees. */
export function toCliError(error: unknown, context: FailureContext): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof InvalidOptionError) {
    return new CliError('USAGE', `invalid --${error.option}: ${stripOptionPrefix(error.message)}`, EXIT.usage);
  }
  if (error instanceof ZkError) {
    switch (error.code) {
      case 'NO_AUTH':
        return new CliError('PERMISSION_DENIED', context.authGiven
          ? `permission denied${error.path ? ` on ${error.path}` : ''}: the --auth credentials are not allowed to read it`
          : `permission denied${error.path ? ` on ${error.path}` : ''}: pass --auth user:password`);
      case 'AUTH_FAILED':
        return new CliError('PERMISSION_DENIED', 'ZooKeeper rejected the --auth credentials');
      case 'TIMEOUT':
      case 'CONNECTION_LOSS':
      case 'SESSION_EXPIRED':
      case 'CLOSED':
        return new CliError('UNREACHABLE', `cannot reach ZooKeeper at ${context.connect} within ${context.timeoutMs} ms`);
      default:
        return new CliError('ZOOKEEPER', `ZooKeeper error ${error.code}: ${error.message}`);
    }
  }
  if (error instanceof ZkHaError) return new CliError('ZOOKEEPER', `${error.code}: ${error.message}`);
  return new CliError('ZOOKEEPER', `unexpected error: ${error instanceof Error ? error.message : String(error)}`);
}

function stripOptionPrefix(message: string): string {
  // InvalidOptionError messages read 'option "x": why'; the CLI names the flag itself.
  return message.replace(/^option "[^"]*": /, '');
}
