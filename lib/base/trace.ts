// TEMPORARY instrumentation (issue 14 timing); not to be committed.
import * as fs from 'fs';
const file = process.env.ZKHA_TRACE ? `${process.env.ZKHA_TRACE}/trace-${process.pid}.jsonl` : undefined;
export function trace(what: string, detail: Record<string, unknown> = {}): void {
  if (!file) return;
  fs.appendFileSync(file, `${JSON.stringify({ t: Number(process.hrtime.bigint()) / 1e6, pid: process.pid, what, ...detail })}\n`);
}
