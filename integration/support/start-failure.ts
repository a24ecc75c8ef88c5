import * as path from 'path';
import { spawnTracked } from '../harness';

export interface StartFailureOutcome { code: number | null; events: Record<string, unknown>[]; stderr: string }

/** Runs integration/package-consumer/start-failure.cjs (or its copy `script` in an installed project). */
export function runStartFailure(args: string[], env: Record<string, string> = {}, cwd?: string, script = path.join(__dirname, '..', 'package-consumer', 'start-failure.cjs')): Promise<StartFailureOutcome> {
  const child = spawnTracked(process.execPath, [script, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.once('exit', (code) => {
    const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    resolve({ code, events, stderr });
  }));
}

