/**
 * Self time by function from V8 .cpuprofile files (node --cpu-prof, or the inspector's
 * Profiler.stop), summed over several profiles: what bench/profile-summary.ts prints.
 */

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  /** "function file:line" (file relative to the project, or node:internal…). */
  readonly key: string;
  /** Where it lives: node-zookeeper-client, lib/zk, lib/coordination, node, gc, idle… */
  readonly area: string;
  readonly ms: number;
}

/** Samples attributed to what V8 was doing rather than to a JavaScript function. */
const SPECIAL: Record<string, string> = { '(idle)': 'idle', '(garbage collector)': 'gc', '(program)': 'program', '(root)': 'program' };

/** Which part of the stack a script URL belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (SPECIAL[functionName] && url === '') return SPECIAL[functionName];
  if (url === '') return 'native';
  if (url.startsWith('node:')) return 'node';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return nm[1]!;
  const lib = /\/(lib\/[^/]+|bench|integration)\//.exec(url);
  if (lib) return lib[1]!;
  return 'other';
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const lib = /\/((?:lib|bench|integration)\/.*)$/.exec(url);
  if (lib) return lib[1]!;
  return url.replace(/^file:\/\//, '');
}

/** Self time (ms) of every function in `profiles`, largest first; sample times come from timeDeltas. */
export function selfTimes(profiles: readonly CpuProfile[]): SelfTime[] {
  const totals = new Map<string, { area: string; ms: number }>();
  for (const p of profiles) {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    // timeDeltas[i] is the gap before sample i; the time until the next sample is what sample i stands for.
    for (let i = 0; i < samples.length; i++) {
      const node = byId.get(samples[i]!);
      if (!node) continue;
      const next = i + 1 < deltas.length ? deltas[i + 1]! : 0;
      const { functionName, url, lineNumber } = node.callFrame;
      const name = functionName || '(anonymous)';
      const key = url === '' ? name : `${name} ${shortUrl(url)}:${lineNumber + 1}`;
      const t = totals.get(key) ?? { area: areaOf(url, functionName), ms: 0 };
      t.ms += Math.max(0, next) / 1000;
      totals.set(key, t);
    }
  }
  return [...totals].map(([key, t]) => ({ key, area: t.area, ms: t.ms })).sort((a, b) => b.ms - a.ms);
}

/** Self time summed by area, largest first. */
export function byArea(times: readonly SelfTime[]): { area: string; ms: number }[] {
  const m = new Map<string, number>();
  for (const t of times) m.set(t.area, (m.get(t.area) ?? 0) + t.ms);
  return [...m].map(([area, ms]) => ({ area, ms })).sort((a, b) => b.ms - a.ms);
}
