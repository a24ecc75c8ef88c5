/**
 * The payloads of the rpc benchmark, each echoed back by the server:
 *  - small: one ~100 B object;
 *  - structured: 200 small objects {id, name, price, tags[], flag} (~10 KB encoded), what real
 *    services send: encoding and decoding cost grows with the number of values, not the bytes;
 *  - buffer: the small object with a 16 KiB Buffer (mostly a memcpy; kept for comparison).
 */
export type PayloadName = 'small' | 'structured' | 'buffer';
export const PAYLOADS: readonly PayloadName[] = ['small', 'structured', 'buffer'];

export interface Item {
  id: number;
  name: string;
  price: number;
  tags: string[];
  flag: boolean;
}

export interface BenchMsg {
  user: string;
  op: string;
  key: string;
  value: string;
  n: number;
  ok: boolean;
  blob?: Buffer;
  items?: Item[];
}

const TAGS = ['red', 'green', 'blue', 'large', 'small', 'sale', 'new', 'eco'];

function items(n: number): Item[] {
  return Array.from({ length: n }, (_, i) => ({
    id: 1000 + i,
    name: `item-${i}`,
    price: Math.round((3.5 + i * 1.37) * 100) / 100 + 0.001,
    tags: i % 2 === 0 ? [TAGS[i % TAGS.length]!] : [TAGS[i % TAGS.length]!, TAGS[(i * 3 + 1) % TAGS.length]!],
    flag: i % 3 === 0,
  }));
}

export function payload(name: PayloadName): BenchMsg {
  const small: BenchMsg = { user: 'alice', op: 'put', key: 'k-12345', value: 'v'.repeat(40), n: 42, ok: true };
  switch (name) {
    case 'small': return small;
    case 'structured': return { ...small, items: items(200) };
    case 'buffer': return { ...small, blob: Buffer.alloc(16 * 1024, 7) };
  }
}
