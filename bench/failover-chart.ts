// Renders the failover chart from bench/results/failover.json without re-running the bench:
//   npm run chart:failover                    -> .tmp/charts/failover.svg (git-ignored)
//   npm run chart:failover -- --chart=docs    -> docs/failover.svg
import { chartPath, writeFailoverChart } from './lib/failover-chart';

console.log(`wrote ${writeFailoverChart(chartPath('failover.svg'))}`);
