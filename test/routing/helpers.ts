import type { RoutedEndpoint } from '../../lib/routing';
import { createEndpoint } from '../../lib/routing';

/** Endpoints "e0".."e(n-1)" with the given weights (default 1). */
export function endpoints(n: number, weights?: readonly number[]): RoutedEndpoint[] {
  return Array.from({ length: n }, (_, i) => createEndpoint(`e${i}`, `ws://127.0.0.1:${9000 + i}`, weights ? weights[i] : 1));
}

export function countPicks(pick: () => RoutedEndpoint | undefined, times: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < times; i++) {
    const ep = pick();
    if (!ep) throw new Error('pick returned undefined');
    counts.set(ep.id, (counts.get(ep.id) ?? 0) + 1);
  }
  return counts;
}

/** Pearson chi-square statistic of observed counts against expected shares. */
export function chiSquare(counts: Map<string, number>, expectedShare: Map<string, number>, total: number): number {
  let chi = 0;
  for (const [id, share] of expectedShare) {
    const expected = share * total;
    const observed = counts.get(id) ?? 0;
    chi += (observed - expected) ** 2 / expected;
  }
  return chi;
}
