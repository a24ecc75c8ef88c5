import { expect } from 'chai';
import * as path from 'path';
import { spawnTracked } from '../harness';

export interface StartFailureOutcome { code: number | null; events: Record<string, unknown>[]; stderr: string }

/**
 * The quota case (ZooKeeper enforcing a quota that fits some members): the process exited 0, a
 * member that did not fit rejected with QUOTA_EXCEEDED, the others started, and each rejection
 * was reported as a fault with its code.
 */
export function expectQuotaRejections(r: StartFailureOutcome): void {
  expect(r.code, r.stderr).to.equal(0);
  const started = r.events.find((e) => e.event === 'started') as { results: string[]; faults: { code: string }[] } | undefined;
  expect(started, JSON.stringify(r.events)).to.not.equal(undefined);
  expect(started!.results).to.include('QUOTA_EXCEEDED');
  for (const res of started!.results) expect(res).to.be.oneOf(['ok', 'QUOTA_EXCEEDED']);
  expect(started!.faults.map((f) => f.code)).to.deep.equal(started!.results.filter((c) => c !== 'ok'));
}

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

