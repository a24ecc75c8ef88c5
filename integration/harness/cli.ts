/**
 * `npm run ensemble [-- --nodes N] [-- --keep]`: starts ZooKeeper on loopback, prints the
 * connection string, each node's mode and the startup time, then stops it (or, with --keep,
 * waits for Ctrl-C).
 */
import { parseMode } from './four-letter';
import { startZooKeeper } from './start';

function parseArgs(argv: string[]): { nodes: number; keep: boolean } {
  let nodes = 3;
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--keep') keep = true;
    else if (a === '--nodes' || a.startsWith('--nodes=')) {
      const v = a.includes('=') ? a.slice('--nodes='.length) : argv[++i];
      nodes = Number(v);
    } else if (a === '--help' || a === '-h') {
      console.log('usage: npm run ensemble -- [--nodes N] [--keep]');
      process.exit(0);
    } else {
      console.error(`unknown argument: ${a}`);
      process.exit(2);
    }
  }
  return { nodes, keep };
}

async function main(): Promise<void> {
  const { nodes, keep } = parseArgs(process.argv.slice(2));
  const cluster = await startZooKeeper({ nodes, backend: 'local', log: (line) => console.error(`[harness] ${line}`) });
  try {
    console.log(`connect string: ${cluster.connectString}`);
    for (const node of cluster.nodes) {
      const mode = parseMode(await cluster.srvr(node.id)) ?? 'not serving';
      console.log(`node ${node.id}  ${node.connectString}  pid ${cluster.pid(node.id) ?? '-'}  mode ${mode}`);
    }
    console.log(`startup time: ${cluster.startupMs} ms`);
    if (keep) {
      console.log('running; press Ctrl-C to stop');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await cluster.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
