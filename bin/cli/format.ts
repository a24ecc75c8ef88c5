import type { FaultReport } from '../../lib/ops/fault-reporter';
import type { MemberRow, ServiceState } from './service-state';
import { escapeControl } from './escape';

/** Left-aligned columns separated by two spaces; the first row is the header. */
export function table(rawRows: readonly (readonly string[])[]): string {
  // A cell from ZooKeeper must stay one cell: no newline may start a forged row.
  const rows = rawRows.map((row) => row.map(escapeControl));
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

export function membersTable(members: readonly MemberRow[]): string {
  if (members.length === 0) return '(no members)';
  return table([
    ['SEQ', 'ID', 'URL', 'WEIGHT', 'ZONE', 'HOST', 'PID', 'SESSION'],
    ...members.map((m) => [String(m.sequence), m.id, m.url, String(m.weight), m.zone ?? '-', m.host, String(m.pid), `0x${m.owner}`]),
  ]);
}

export function primaryLine(state: Pick<ServiceState, 'mode' | 'primary' | 'epoch'>): string {
  if (state.mode === 'redundant') return 'none (redundant mode: every member serves)';
  if (!state.primary) return 'none (no members)';
  return `${escapeControl(state.primary.id)} ${escapeControl(state.primary.url)} (epoch ${state.epoch})`;
}

export function statusText(state: ServiceState): string {
  const lines = [
    table([
      ['service:', state.service],
      ['mode:', state.mode],
      ['primary:', primaryLine(state)],
      ['members:', String(state.members.length)],
    ]),
    '',
    membersTable(state.members),
  ];
  for (const bad of state.invalid) lines.push(escapeControl(`skipped unreadable member node ${bad.path}: ${bad.error}`));
  return lines.join('\n');
}

export function faultsTable(reports: readonly FaultReport[]): string {
  if (reports.length === 0) return '(no faults recorded)';
  return table([
    ['AT', 'KIND', 'MEMBER', 'DURATION', 'DETAIL'],
    ...reports.map((r) => [
      Number.isFinite(r.at) && r.at > 0 ? new Date(r.at).toISOString() : '-',
      String(r.kind),
      r.member ?? '-',
      typeof r.durationMs === 'number' ? `${Math.round(r.durationMs)} ms` : '-',
      JSON.stringify(r.detail ?? {}),
    ]),
  ]);
}
