#!/usr/bin/env node
/**
 * The `zk-ha` command line: status, members, elect, watch, faults, services, haproxy, dashboard.
 * See docs/operations.md for usage and sample output.
 */
import { main } from './cli/program';

main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // main() maps every error; this is the last line of defence against a stack trace.
    process.stderr.write(`zk-ha: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
