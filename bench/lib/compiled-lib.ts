import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * Compiles lib/ with tsc (the build's settings: what the package ships) into
 * node_modules/.cache/zk-ha-bench, where the bench's children still resolve node_modules, and
 * returns that directory (the compiled lib is its lib/). Benches run this, not the TypeScript
 * source through tsx, whose module wrappers (e.g. a `__name` call per function created) users
 * never run.
 */
export function buildLib(): string {
  const root = path.join(__dirname, '..', '..');
  const dir = path.join(root, 'node_modules', '.cache', 'zk-ha-bench');
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', dir, '--declaration', 'false'], { stdio: 'inherit' });
  return dir;
}
