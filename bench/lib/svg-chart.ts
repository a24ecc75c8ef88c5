/**
 * A small dependency-free SVG grouped bar chart: groups along x (faults), one bar per series
 * (systems) in each group, an optional whisker per bar (p99 above a p50 bar), value labels, a
 * legend, and several panels side by side (one per session timeout). Plain SVG 1.1 that browsers,
 * GitHub and image viewers render; every text is XML-escaped.
 */

export interface BarSeries {
  readonly name: string;
  readonly color?: string;
  /** One value per group; null = not measured (no bar, "n/a"). */
  readonly values: readonly (number | null)[];
  /** Optional upper whisker per group (e.g. p99 above a p50 bar). */
  readonly whiskers?: readonly (number | null)[];
}

export interface BarPanel {
  readonly title: string;
  readonly groups: readonly string[];
  readonly series: readonly BarSeries[];
}

export interface BarChartSpec {
  readonly title: string;
  /** One or more lines ("\n" separates them). */
  readonly subtitle?: string;
  readonly yLabel: string;
  readonly panels: readonly BarPanel[];
  /** Width of one panel. Default 560. */
  readonly panelWidth?: number;
  /** Height of the plot area. Default 260. */
  readonly plotHeight?: number;
  /** Formats bar labels. Default: integers, or one decimal below 10. */
  readonly format?: (v: number) => string;
}

const PALETTE = ['#2563eb', '#60a5fa', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A "nice" axis maximum and tick step (1, 2, 2.5, 5 × 10^k) covering `max`. */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, step: 0.2 };
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  return { max: Math.ceil(max / step) * step, step };
}

const defaultFormat = (v: number): string => (Math.abs(v) < 10 && !Number.isInteger(v) ? v.toFixed(1) : String(Math.round(v)));

export function renderBarChart(spec: BarChartSpec): string {
  const panelW = spec.panelWidth ?? 560;
  const plotH = spec.plotHeight ?? 260;
  const fmt = spec.format ?? defaultFormat;
  const left = 64;
  const right = 30;
  const subtitle = spec.subtitle ? spec.subtitle.split('\n') : [];
  const top = 58 + 18 * subtitle.length;
  const legendNames = [...new Set(spec.panels.flatMap((p) => p.series.map((s) => s.name)))];
  const colors = new Map<string, string>();
  for (const p of spec.panels) p.series.forEach((s) => { if (!colors.has(s.name)) colors.set(s.name, s.color ?? PALETTE[colors.size % PALETTE.length]!); });
  const bottom = 92;
  const width = spec.panels.length * panelW;
  const height = top + 24 + plotH + bottom;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="28" text-anchor="middle" font-size="18" font-weight="bold" fill="#111827">${escapeXml(spec.title)}</text>`);
  subtitle.forEach((line, i) => out.push(`<text x="${width / 2}" y="${50 + 17 * i}" text-anchor="middle" font-size="12" fill="#4b5563">${escapeXml(line)}</text>`));

  spec.panels.forEach((panel, pi) => {
    const x0 = pi * panelW + left;
    const plotW = panelW - left - right;
    const y0 = top + 24;
    const all = panel.series.flatMap((s) => [...s.values, ...(s.whiskers ?? [])]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const { max, step } = niceScale(Math.max(0, ...all));
    const y = (v: number): number => y0 + plotH - (Math.max(0, v) / max) * plotH;
    out.push(`<text x="${x0 + plotW / 2}" y="${top + 12}" text-anchor="middle" font-size="14" font-weight="bold" fill="#1f2937">${escapeXml(panel.title)}</text>`);
    for (let v = 0; v <= max + step / 2; v += step) {
      const yy = y(v).toFixed(1);
      out.push(`<line x1="${x0}" x2="${x0 + plotW}" y1="${yy}" y2="${yy}" stroke="${v === 0 ? '#9ca3af' : '#e5e7eb'}" stroke-width="1"/>`);
      out.push(`<text x="${x0 - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#6b7280">${escapeXml(fmt(v))}</text>`);
    }
    out.push(`<text transform="translate(${pi * panelW + 16} ${y0 + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#374151">${escapeXml(spec.yLabel)}</text>`);
    const groupW = plotW / Math.max(1, panel.groups.length);
    const n = Math.max(1, panel.series.length);
    const barW = Math.min(28, (groupW * 0.8) / n);
    panel.groups.forEach((g, gi) => {
      const gx = x0 + gi * groupW + (groupW - barW * n) / 2;
      panel.series.forEach((s, si) => {
        const v = s.values[gi];
        const bx = gx + si * barW;
        const cx = (bx + barW / 2).toFixed(1);
        if (v === null || v === undefined || !Number.isFinite(v)) {
          out.push(`<text x="${cx}" y="${y0 + plotH - 4}" text-anchor="middle" font-size="9" fill="#9ca3af">n/a</text>`);
          return;
        }
        const color = colors.get(s.name)!;
        out.push(`<rect x="${(bx + 1).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(y0 + plotH - y(v)).toFixed(1)}" fill="${color}"><title>${escapeXml(`${s.name} · ${g}: ${fmt(v)}`)}</title></rect>`);
        const w = s.whiskers?.[gi];
        let labelY = y(v) - 4;
        if (typeof w === 'number' && Number.isFinite(w) && w > v) {
          out.push(`<line x1="${cx}" x2="${cx}" y1="${y(v).toFixed(1)}" y2="${y(w).toFixed(1)}" stroke="#374151" stroke-width="1"/>`);
          out.push(`<line x1="${(bx + barW / 2 - 4).toFixed(1)}" x2="${(bx + barW / 2 + 4).toFixed(1)}" y1="${y(w).toFixed(1)}" y2="${y(w).toFixed(1)}" stroke="#374151" stroke-width="1"/>`);
          labelY = y(w) - 4;
        }
        out.push(`<text x="${cx}" y="${labelY.toFixed(1)}" text-anchor="middle" font-size="9" fill="#111827">${escapeXml(fmt(v))}</text>`);
      });
      wrap(g, groupW).forEach((line, li) => {
        out.push(`<text x="${(x0 + gi * groupW + groupW / 2).toFixed(1)}" y="${y0 + plotH + 18 + 15 * li}" text-anchor="middle" font-size="12" fill="#374151">${escapeXml(line)}</text>`);
      });
    });
  });

  // Legend, centred under the panels, in as many rows as it takes to fit the width.
  const itemW = legendNames.map((name) => 26 + name.length * 7);
  const rows: number[][] = [[]];
  let rowW = 0;
  itemW.forEach((w, i) => {
    if (rowW + w > width - 20 && rows[rows.length - 1]!.length > 0) {
      rows.push([]);
      rowW = 0;
    }
    rows[rows.length - 1]!.push(i);
    rowW += w;
  });
  rows.forEach((row, ri) => {
    let lx = (width - row.reduce((a, i) => a + itemW[i]!, 0)) / 2;
    const ly = height - 30 - 18 * (rows.length - 1 - ri);
    for (const i of row) {
      const name = legendNames[i]!;
      out.push(`<rect x="${lx.toFixed(1)}" y="${ly - 10}" width="12" height="12" fill="${colors.get(name)!}"/>`);
      out.push(`<text x="${(lx + 17).toFixed(1)}" y="${ly}" font-size="12" fill="#1f2937">${escapeXml(name)}</text>`);
      lx += itemW[i]!;
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Splits a label into lines that fit `width` px at 12 px (about 6.5 px a character). */
function wrap(label: string, width: number): string[] {
  const max = Math.max(6, Math.floor((width - 8) / 6.5));
  const lines: string[] = [];
  let line = '';
  for (const word of label.split(' ')) {
    if (line && (line + ' ' + word).length > max) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
