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

/** An option that must be a plain object when given (not null, not an array). */
export function objectOption<T extends object>(name: string, value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(name, `must be an object, got ${describe(value)}`);
  }
  return value;
}

/**
 * An object option whose methods zk-ha calls later (a logger, metrics): checked now, so that a
 * wrong value fails construction instead of throwing a TypeError at its first use.
 */
export function methodsOption<T extends object>(name: string, value: T | undefined, methods: readonly string[], what: string): T | undefined {
  if (value === undefined) return undefined;
  const missing = typeof value === 'object' && value !== null
    ? methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function')
    : methods;
  if (missing.length > 0) {
    throw new InvalidOptionError(name, `must be ${what}, with methods ${methods.join(', ')}; got ${describe(value)}${missing.length < methods.length ? ` without ${missing.join(', ')}` : ''}`);
  }
  return value;
}

/**
 * Rejects a key that is no option of `value` (an option object; `group` is its name, '' at the
 * top level): a misspelt option would otherwise be ignored and its default used in silence.
 */
export function knownKeys(group: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closestKey(key, known);
    throw new InvalidOptionError(group === '' ? key : `${group}.${key}`, `unknown option${near === undefined ? '' : `, did you mean ${group === '' ? near : `${group}.${near}`}?`}`);
  }
}

/** The keys of an options type, complete by construction: `optionKeys<Options>({ a: true, ... })`. */
export function optionKeys<T>(keys: { readonly [K in keyof T]-?: true }): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/**
 * Runs `build`; an InvalidOptionError it throws names its option inside the option `group`
 * (validators name options as their own, unqualified: `port`, not `listen.port`).
 */
export function prefixOptionErrors<T>(group: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof InvalidOptionError && error.option !== group && !error.option.startsWith(`${group}.`)) {
      const message = error.message.replace(/^option "[^"]*": /, '').replace(/, did you mean (\S+)\?$/, `, did you mean ${group}.$1?`);
      throw new InvalidOptionError(`${group}.${error.option}`, message);
    }
    throw error;
  }
}

/** The known key a misspelt one most likely meant: case aside, at most 1 edit away (2 for longer names). */
function closestKey(key: string, known: readonly string[]): string | undefined {
  if (key.length > 64) return undefined; // no option is that long; and the distance is quadratic
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance && d <= (Math.min(key.length, k.length) >= 6 ? 2 : 1)) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, a swap of neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}
