/**
 * Bounded, escaped text about values that came from outside (a peer's frame, a znode, a
 * header), for error messages and log lines: never a serialisation of the value itself, whose
 * size and content the sender chooses.
 */
export function describeUntrusted(v: unknown): string {
  switch (typeof v) {
    case 'number': case 'boolean': case 'bigint': case 'undefined':
      return String(v).slice(0, 40);
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v).replace(/[^\x20-\x7e]/g, '?');
    default:
      if (v === null) return 'null';
      if (Array.isArray(v)) return `an array of ${v.length}`;
      return Buffer.isBuffer(v) || v instanceof Uint8Array ? `${v.length} bytes` : `a value of type ${typeof v}`;
  }
}

/** At most `max` printable ASCII characters of `text`, saying how much was cut. */
export function truncateText(text: string, max: number): string {
  const printable = (text.length > max ? text.slice(0, max) : text).replace(/[^\x20-\x7e]/g, '?');
  return text.length > max ? `${printable}... (${text.length - max} more characters)` : printable;
}

/**
 * True when a parsed JSON value nests arrays/objects deeper than `maxDepth` (the value itself is
 * depth 1). Depth-first with an explicit stack: a hostile value cannot exhaust the call stack here,
 * and the walk stops at the first level too deep. Values that pass can be serialised, compared
 * and walked recursively without a RangeError.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > maxDepth) return true;
    for (const child of Object.values(v as object)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
