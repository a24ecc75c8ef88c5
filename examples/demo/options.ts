import { Command, InvalidArgumentError, Option } from 'commander';

export interface DemoOptions {
  readonly mode: 'primary-backup' | 'redundant';
  /** Multiplies every settle/observation wait (not the session timeout). */
  readonly scale: number;
  readonly sessionTimeoutMs: number;
  /** Redraw one screen (ANSI) instead of printing progress lines. */
  readonly tty: boolean;
  /** Where the summary chart goes: "tmp" = .tmp/charts/ (git-ignored, the default), "docs" = docs/. */
  readonly chart: 'tmp' | 'docs';
}

function atLeast(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}`);
    return n;
  };
}

/** The demo's command line (`npm run demo -- --help`). */
export function parseDemoOptions(argv: readonly string[]): DemoOptions {
  const program = new Command('demo')
    .description('Starts a 3-node ZooKeeper ensemble, three servers of an example service and a busy client, '
      + 'injects faults one after another and measures what the client saw. Ends by itself with a summary.')
    .addOption(new Option('--mode <mode>', 'service mode: pb (primary/backup) or redundant')
      .choices(['pb', 'primary-backup', 'redundant']).default('pb'))
    .option('--quick', 'shorter waits (about 30 s in all)', false)
    .option('--duration-scale <x>', 'multiply every wait by x (default 1, --quick = 0.25)', atLeast('--duration-scale', 0.05))
    .option('--session-timeout <ms>', 'ZooKeeper session timeout of the servers', atLeast('--session-timeout', 500), 2000)
    .option('--no-tty', 'print progress lines even when stdout is a terminal')
    .addOption(new Option('--chart <where>', 'write the summary chart (SVG) to .tmp/charts/ or docs/').choices(['tmp', 'docs']).default('tmp'))
    .showHelpAfterError();
  program.parse(argv as string[], { from: 'user' });
  const o = program.opts<{ mode: string; quick: boolean; durationScale?: number; sessionTimeout: number; tty: boolean; chart: string }>();
  return {
    mode: o.mode === 'redundant' ? 'redundant' : 'primary-backup',
    scale: o.durationScale ?? (o.quick ? 0.25 : 1),
    sessionTimeoutMs: Math.round(o.sessionTimeout),
    tty: o.tty && process.stdout.isTTY === true,
    chart: o.chart === 'docs' ? 'docs' : 'tmp',
  };
}
