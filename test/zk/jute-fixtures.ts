// ZooKeeper replies, well-formed and not, for the reply-guard fuzz (unit) and the fake-server tests
// (integration). Seeded: a failure names its seed and case number.

export type Rand = () => number;

/** mulberry32: a small seeded PRNG. */
export function seeded(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rand: Rand, n: number): number => Math.floor(rand() * n);

/** Appends jute values to a growing buffer. */
export class JuteWriter {
  private parts: Buffer[] = [];

  int(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v | 0);
    this.parts.push(b);
    return this;
  }
  long(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    this.parts.push(b);
    return this;
  }
  bool(v: boolean): this {
    this.parts.push(Buffer.from([v ? 1 : 0]));
    return this;
  }
  bytes(v: Buffer | undefined): this {
    if (v === undefined) return this.int(-1);
    this.int(v.length);
    this.parts.push(v);
    return this;
  }
  string(v: string | undefined): this {
    return this.bytes(v === undefined ? undefined : Buffer.from(v));
  }
  raw(v: Buffer): this {
    this.parts.push(v);
    return this;
  }
  stat(version = 0): this {
    this.long(5n).long(6n).long(BigInt(Date.now())).long(BigInt(Date.now()));
    this.int(version).int(0).int(0).long(0n).int(3).int(0).long(7n);
    return this;
  }
  body(): Buffer {
    return Buffer.concat(this.parts);
  }
  /** With the 4-byte length prefix. */
  frame(): Buffer {
    const body = this.body();
    const len = Buffer.alloc(4);
    len.writeInt32BE(body.length);
    return Buffer.concat([len, body]);
  }
}

export function framed(body: Buffer, declared = body.length): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(declared | 0);
  return Buffer.concat([len, body]);
}

export function connectReply(timeOut = 4000, sessionId = 0x1234n): Buffer {
  return new JuteWriter().int(0).int(timeOut).long(sessionId).bytes(Buffer.alloc(16, 7)).bool(false).frame();
}

export const OPS = { CREATE: 1, DELETE: 2, EXISTS: 3, GET_DATA: 4, SET_DATA: 5, GET_ACL: 6, SET_ACL: 7, GET_CHILDREN2: 12, MULTI: 14 } as const;

/** A well-formed successful reply to request `xid` of type `op`. */
export function goodReply(op: number, xid: number, rand: Rand): Buffer {
  const w = new JuteWriter().int(xid).long(BigInt(10 + int(rand, 1000))).int(0);
  switch (op) {
    case OPS.CREATE: w.string(`/svc/members/m-${String(int(rand, 1e9)).padStart(10, '0')}`); break;
    case OPS.DELETE: break;
    case OPS.EXISTS: case OPS.SET_DATA: case OPS.SET_ACL: w.stat(int(rand, 10)); break;
    case OPS.GET_DATA: w.bytes(Buffer.from(JSON.stringify({ id: 'x', url: 'ws://127.0.0.1:1' }))).stat(); break;
    case OPS.GET_CHILDREN2: {
      const n = int(rand, 20);
      w.int(n);
      for (let i = 0; i < n; i++) w.string(`m-${String(i).padStart(10, '0')}`);
      w.stat();
      break;
    }
    case OPS.GET_ACL: w.int(2).int(31).string('world').string('anyone').int(1).string('digest').string('u:abc').stat(); break;
    case OPS.MULTI: w.int(13).bool(false).int(0).int(5).bool(false).int(0).stat().int(-1).bool(true).int(-1); break;
    default: throw new Error(`no reply for op ${op}`);
  }
  return w.frame();
}

export function notification(type: number, path: string): Buffer {
  return new JuteWriter().int(-1).long(-1n).int(0).int(type).int(3).string(path).frame();
}

const EXTREME = [-1, -2, 0, 1, 3, 4, 15, 16, 17, 0x7fffffff, -0x80000000, 0x10000000, 1 << 24, (1 << 24) + 1];

/**
 * One hostile input: a well-formed reply with one length or field replaced by an extreme value,
 * a truncated or bit-flipped one, a lying frame length, or plain random bytes.
 */
export function garbage(rand: Rand, xid: number, op: number): Buffer {
  const good = goodReply(op, xid, rand);
  switch (int(rand, 7)) {
    case 0: { // random bytes with a truthful length
      const body = Buffer.alloc(int(rand, 200));
      for (let i = 0; i < body.length; i++) body[i] = int(rand, 256);
      return framed(body);
    }
    case 1: { // a random frame length, nothing or a little after it
      const body = Buffer.alloc(int(rand, 40));
      for (let i = 0; i < body.length; i++) body[i] = int(rand, 256);
      return framed(body, EXTREME[int(rand, EXTREME.length)]!);
    }
    case 2: { // an extreme value written over any 4-byte field of a good reply
      const b = Buffer.from(good);
      const at = 4 + int(rand, Math.max(1, b.length - 8));
      b.writeInt32BE(EXTREME[int(rand, EXTREME.length)]!, at);
      return b;
    }
    case 3: { // bit flips
      const b = Buffer.from(good);
      const flips = 1 + int(rand, 4);
      for (let i = 0; i < flips; i++) b[4 + int(rand, b.length - 4)]! ^= 1 << int(rand, 8);
      return b;
    }
    case 4: { // truncated body, declared length adjusted (a short reply, not a partial one)
      const body = good.subarray(4, 4 + int(rand, good.length - 4));
      return framed(body);
    }
    case 5: // a reply to nobody / out of order
      return goodReply(op, xid + 1 + int(rand, 5), rand);
    default: { // the body of a good reply with garbage appended inside the frame, or a bad notification
      if (rand() < 0.5) return notification(EXTREME[int(rand, EXTREME.length)]!, rand() < 0.5 ? 'relative/path' : '/x');
      const body = Buffer.concat([good.subarray(4), Buffer.alloc(int(rand, 64), 0xff)]);
      // A GET_CHILDREN2 with a huge vector count and nothing behind it.
      if (op === OPS.GET_CHILDREN2) body.writeInt32BE(0x7fffffff, 16);
      return framed(body);
    }
  }
}
