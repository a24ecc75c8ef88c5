import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const RESULTS_DIR = path.join(__dirname, '..', 'results');

/** Writes bench/results/<name> as pretty JSON (NaN becomes null) and returns the path. */
export function writeResult(name: string, value: unknown): string {
  const file = path.join(RESULTS_DIR, name);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  return file;
}

/** One line describing the machine, for result files and docs. */
export function machine(): { cpus: string; cores: number; memGiB: number; node: string; os: string } {
  const cpus = os.cpus();
  return {
    cpus: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}
