import type { RoutedEndpoint } from '../endpoint';
import { RotatingPicker } from './rotating-picker';

/** Plain rotation, from a random start (see RotatingPicker). */
export class RoundRobinPicker extends RotatingPicker {
  pick(): RoutedEndpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    return this.endpoints[this.advance(n)];
  }
}
