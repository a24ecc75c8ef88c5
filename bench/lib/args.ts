/** A bench's command line: `--quick`, flags `--name` and options `--name=value`. */
const args = process.argv.slice(2);

export const quick = args.includes('--quick');

export function flag(name: string): boolean {
  return args.includes(`--${name}`);
}

export function option(name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** `--name=N`, a positive integer, or `fallback`. */
export function positiveInt(name: string, fallback: number): number {
  const raw = option(name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}
