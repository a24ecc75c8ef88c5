import { ZkError } from '../zk';
import type { ZkSession } from '../zk';
import { CoordinationError } from './coordination-error';
import { decodeRecord, unreadableRecord } from './member-record';

/** A member node ahead of us as read: its path and version, and whether its record makes it a candidate. */
export interface ReadRecord {
  readonly path: string;
  readonly version: number;
  readonly valid: boolean;
}

/**
 * Member nodes ahead of us in the line whose records do not parse: they are not candidates, the
 * election looks through them. Each is reported once per data version.
 */
export class InvalidRecords {
  /** Invalid records already reported (path@version). */
  private readonly reported = new Set<string>();

  constructor(
    private readonly session: ZkSession,
    private readonly membersPath: string,
    private readonly report: (info: { path: string; error: CoordinationError }) => void,
  ) {}

  /** Reads the node's record (an invalid one is reported once per version); undefined if it is gone. */
  async check(name: string): Promise<ReadRecord | undefined> {
    const path = `${this.membersPath}/${name}`;
    let got: { data: Buffer; stat: { version: number } };
    try {
      got = await this.session.get(path);
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return undefined;
      const unreadable = unreadableRecord(error, path);
      if (!unreadable) throw error;
      // Its version still conditions its removal with the head (exists() needs no permission).
      const stat = await this.session.exists(path);
      return stat ? this.invalid(path, stat.version, unreadable) : undefined;
    }
    try {
      decodeRecord(got.data, path);
      return { path, version: got.stat.version, valid: true };
    } catch (error) {
      if (!(error instanceof CoordinationError)) throw error;
      return this.invalid(path, got.stat.version, error);
    }
  }

  private invalid(path: string, version: number, error: CoordinationError): ReadRecord {
    const key = `${path}@${version}`;
    if (!this.reported.has(key)) {
      if (this.reported.size > 1000) this.reported.clear();
      this.reported.add(key);
      this.report({ path, error });
    }
    return { path, version, valid: false };
  }
}
