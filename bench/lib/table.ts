/** Fixed-width text tables for the console and Markdown tables for docs/performance.md. */
export type Cell = string | number;

function text(c: Cell): string {
  if (typeof c === 'number') return Number.isFinite(c) ? String(c) : '—';
  return c;
}

export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [headers.map(text), ...rows.map((r) => r.map(text))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function markdownTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const row = (r: readonly Cell[]): string => `| ${r.map(text).join(' | ')} |`;
  return [row(headers), `|${headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map(row)].join('\n');
}
