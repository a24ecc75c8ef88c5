/**
 * The fields of node-zookeeper-client's Stat read here, declared locally so that the published
 * .d.ts files never import node-zookeeper-client (which ships no types).
 */
export interface RawStat {
  readonly czxid: Buffer; readonly mzxid: Buffer; readonly pzxid: Buffer; readonly ctime: Buffer; readonly mtime: Buffer;
  readonly version: number; readonly cversion: number; readonly aversion: number;
  readonly ephemeralOwner: Buffer; readonly dataLength: number; readonly numChildren: number;
}

/** A znode's metadata with ZooKeeper's 64-bit fields made usable: ids as hex, zxids as bigint. */
export interface ZnodeStat {
  readonly czxid: bigint;
  readonly mzxid: bigint;
  readonly pzxid: bigint;
  readonly ctime: number;
  readonly mtime: number;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  /** Session id (16 hex digits) of the owner of an ephemeral node, "0000000000000000" otherwise. */
  readonly ephemeralOwner: string;
  readonly dataLength: number;
  readonly numChildren: number;
}

export function toZnodeStat(raw: RawStat): ZnodeStat {
  return {
    czxid: raw.czxid.readBigInt64BE(0),
    mzxid: raw.mzxid.readBigInt64BE(0),
    pzxid: raw.pzxid.readBigInt64BE(0),
    ctime: Number(raw.ctime.readBigInt64BE(0)),
    mtime: Number(raw.mtime.readBigInt64BE(0)),
    version: raw.version,
    cversion: raw.cversion,
    aversion: raw.aversion,
    ephemeralOwner: raw.ephemeralOwner.toString('hex'),
    dataLength: raw.dataLength,
    numChildren: raw.numChildren,
  };
}
