import { InvalidOptionError } from './errors';

/**
 * Small validators used by every constructor, so that a bad option fails at construction with
 * an error naming the option instead of misbehaving later.
 */
export function positiveNumber(name: string, value: unknown, fallback?: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InvalidOptionError(name, `must be a positive finite number, got ${describe(value)}`);
  }
  return v;
}

export function nonNegativeNumber(name: string, value: unknown, fallback?: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidOptionError(name, `must be a finite number >= 0, got ${describe(value)}`);
  }
  return v;
}

export function integerInRange(name: string, value: unknown, min: number, max: number, fallback?: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidOptionError(name, `must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return v;
}

export function fraction(name: string, value: unknown, fallback?: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v >= 1) {
    throw new InvalidOptionError(name, `must be a number strictly between 0 and 1, got ${describe(value)}`);
  }
  return v;
}

export function nonEmptyString(name: string, value: unknown, fallback?: string): string {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'string' || v.length === 0) {
    throw new InvalidOptionError(name, `must be a non-empty string, got ${describe(value)}`);
  }
  return v;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback?: T): T {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new InvalidOptionError(name, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describe(value)}`);
  }
  return v as T;
}

export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, `must be a boolean, got ${describe(value)}`);
  return value;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
