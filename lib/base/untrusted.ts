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
