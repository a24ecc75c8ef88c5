/** The two payloads of the rpc benchmark: a ~100 B object, and the same with a 16 KiB blob. */
export type PayloadName = 'small' | 'large';

export interface BenchMsg {
  user: string;
  op: string;
  key: string;
  value: string;
  n: number;
  ok: boolean;
  blob?: Buffer;
}

export function payload(name: PayloadName): BenchMsg {
  const small: BenchMsg = { user: 'alice', op: 'put', key: 'k-12345', value: 'v'.repeat(40), n: 42, ok: true };
  return name === 'small' ? small : { ...small, blob: Buffer.alloc(16 * 1024, 7) };
}
