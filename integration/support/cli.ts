/** Runs the `zk-ha` command line (bin/zk-ha.ts under tsx) as a tracked child process. */
import { expect } from 'chai';
import * as path from 'path';
import { spawnTracked } from '../harness';
import { within } from './wait';

export const CLI = path.join(__dirname, '..', '..', 'bin', 'zk-ha.ts');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const child = spawnTracked(process.execPath, ['-r', 'tsx/cjs', CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ZK_CONNECT: undefined, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const exited = new Promise<CliResult>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return within(30000, `zk-ha ${args.join(' ')}`, exited);
}

/** stderr of a failed command: exactly one line, no stack. */
export function oneLine(result: CliResult): string {
  const lines = result.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, `stderr: ${result.stderr}`).to.have.length(1);
  expect(result.stderr).not.to.match(/\n\s+at /);
  return lines[0]!;
}
