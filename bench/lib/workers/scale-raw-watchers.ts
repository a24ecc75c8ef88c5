/**
 * The floor of bench:scale's propagation: `count` ZooKeeper sessions in one process speaking the wire
 * protocol directly (no library: no validation, no timeouts, no reconnects, no view). Each session
 * does what a view must do at the least under a persistent recursive watch: addWatch on members/,
 * one listing and one getData per member at start, then per change: a deleted notification → stamp
 * (the member's id from its name); a created one → one getData → JSON.parse → stamp. What is left of
 * the figure here is ZooKeeper's fan-out to `count` × processes sessions, the kernel, and Node's event
 * loop with one socket per session — the same for any client.
 *   args: <connect> <root> <service> <count> <sessionTimeoutMs>
 * IPC: as scale-watchers.ts ({ready, members, modes}, {seen}, {marked}, {report}, {error}).
 */
import * as net from 'node:net';
import { Arrivals } from './arrivals';
import { startChangeProfile, stopChangeProfile } from './change-profiler';

const [connect, root, service, countArg, timeoutArg] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countArg);
const timeoutMs = Number(timeoutArg);
const membersPath = `${root}/${service}/members`;
const prefix = `${membersPath}/`;
const [host, port] = connect.split(',')[0]!.split(':') as [string, string];

const OP = { GET_DATA: 4, GET_CHILDREN2: 12, PING: 11, ADD_WATCH: 106, CLOSE: -11 } as const;
const EVENT = { CREATED: 1, DELETED: 2 } as const;
let stats = { reads: 0, watchEvents: 0 };
const sessions: RawSession[] = [];

function send(message: object): void {
  process.send?.(message);
}
const arrivals = new Arrivals(count, send);
const arrived = (key: string): void => arrivals.arrived(key);

function frame(xid: number, type: number, body: (b: Buffer, at: number) => number, size: number): Buffer {
  const b = Buffer.allocUnsafe(12 + size);
  b.writeInt32BE(8 + size, 0);
  b.writeInt32BE(xid, 4);
  b.writeInt32BE(type, 8);
  body(b, 12);
  return b;
}

function pathRequest(xid: number, type: number, path: string, tail: (b: Buffer, at: number) => void, tailBytes: number): Buffer {
  const n = Buffer.byteLength(path);
  return frame(xid, type, (b, at) => {
    b.writeInt32BE(n, at);
    b.write(path, at + 4);
    tail(b, at + 4 + n);
    return 0;
  }, 4 + n + tailBytes);
}

class RawSession {
  private socket!: net.Socket;
  private pending: Buffer | undefined;
  private xid = 1;
  /** xid → what to do with the reply body (buffer, offset after the header, end). */
  private readonly waiting = new Map<number, (b: Buffer, at: number, end: number, err: number) => void>();
  /** member node name → member id. */
  readonly members = new Map<string, string>();
  private connected!: () => void;
  private pinger: NodeJS.Timeout | undefined;

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connected = resolve;
      this.socket = net.connect({ host, port: Number(port) }, () => {
        // ConnectRequest {int protocolVersion, long lastZxidSeen, int timeOut, long sessionId, buffer passwd}
        const b = Buffer.alloc(4 + 4 + 8 + 4 + 8 + 4 + 16);
        b.writeInt32BE(b.length - 4, 0);
        b.writeInt32BE(timeoutMs, 16);
        b.writeInt32BE(16, 28);
        this.socket.write(b);
      });
      this.socket.setNoDelay(true);
      this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
      this.socket.on('error', reject);
    });
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const size = buf.readInt32BE(at);
      if (buf.length - at - 4 < size) break;
      this.onFrame(buf, at + 4, at + 4 + size);
      at += 4 + size;
    }
    this.pending = at < buf.length ? Buffer.from(buf.subarray(at)) : undefined;
    buf = Buffer.alloc(0);
  }

  private onFrame(b: Buffer, at: number, end: number): void {
    if (this.pinger === undefined) {
      // ConnectResponse: the session is up.
      const negotiated = b.readInt32BE(at + 4);
      this.pinger = setInterval(() => this.socket.write(frame(-2, OP.PING, () => 0, 0)), negotiated / 3);
      this.connected();
      return;
    }
    const xid = b.readInt32BE(at);
    const err = b.readInt32BE(at + 12);
    at += 16;
    if (xid === -2) return;
    if (xid === -1) {
      // WatcherEvent {int type, int state, ustring path}
      stats.watchEvents++;
      const type = b.readInt32BE(at);
      const n = b.readInt32BE(at + 8);
      const path = b.toString('utf8', at + 12, at + 12 + n);
      if (!path.startsWith(prefix)) return;
      const name = path.slice(prefix.length);
      if (type === EVENT.DELETED) {
        const id = this.members.get(name);
        this.members.delete(name);
        if (id !== undefined) arrived(`leave:${id}`);
      } else if (type === EVENT.CREATED) {
        void this.readMember(name).then((id) => arrived(`join:${id}`));
      }
      return;
    }
    const reply = this.waiting.get(xid);
    this.waiting.delete(xid);
    reply?.(b, at, end, err);
  }

  private request(type: number, path: string, tail: (b: Buffer, at: number) => void, tailBytes: number): Promise<{ b: Buffer; at: number; end: number }> {
    const xid = this.xid++;
    return new Promise((resolve, reject) => {
      this.waiting.set(xid, (b, at, end, err) => (err === 0 ? resolve({ b, at, end }) : reject(new Error(`${path}: error ${err}`))));
      this.socket.write(pathRequest(xid, type, path, tail, tailBytes));
    });
  }

  async readMember(name: string): Promise<string> {
    stats.reads++;
    // GetDataRequest {ustring path, boolean watch}; reply {buffer data, Stat}
    const { b, at } = await this.request(OP.GET_DATA, prefix + name, (buf, i) => { buf[i] = 0; }, 1);
    const n = b.readInt32BE(at);
    const id = (JSON.parse(b.toString('utf8', at + 4, at + 4 + n)) as { id: string }).id;
    this.members.set(name, id);
    return id;
  }

  async watchAndList(): Promise<void> {
    // AddWatchRequest {ustring path, int mode}: PERSISTENT_RECURSIVE = 1
    await this.request(OP.ADD_WATCH, membersPath, (b, i) => { b.writeInt32BE(1, i); }, 4);
    // GetChildren2Request {ustring path, boolean watch}; reply {vector<ustring> children, Stat}
    const { b, at } = await this.request(OP.GET_CHILDREN2, membersPath, (buf, i) => { buf[i] = 0; }, 1);
    const names: string[] = [];
    let i = at + 4;
    for (let k = b.readInt32BE(at); k > 0; k--) {
      const n = b.readInt32BE(i);
      names.push(b.toString('utf8', i + 4, i + 4 + n));
      i += 4 + n;
    }
    await Promise.all(names.map((name) => this.readMember(name)));
  }

  close(): Promise<void> {
    clearInterval(this.pinger);
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end(frame(this.xid++, OP.CLOSE, () => 0, 0));
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}

process.on('message', (m: { cmd?: string }) => {
  if (m.cmd === 'mark') {
    stats = { reads: 0, watchEvents: 0 };
    arrivals.clear();
    void startChangeProfile().then(() => send({ marked: true }));
  } else if (m.cmd === 'report') {
    void stopChangeProfile();
    send({
      report: {
        clients: count,
        reads: stats.reads,
        probes: 0,
        watchEvents: stats.watchEvents,
        arrivals: arrivals.toJSON(),
      },
    });
  } else if (m.cmd === 'close') {
    void Promise.all(sessions.map((s) => s.close())).finally(() => process.exit(0));
  }
});

void (async () => {
  const batch = 25;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, async () => {
      const s = new RawSession();
      sessions.push(s);
      await s.start();
      await s.watchAndList();
    }));
  }
  send({ ready: true, members: sessions.map((s) => s.members.size), modes: { 'persistent (raw)': count } });
})().catch((error: unknown) => send({ error: String(error) }));
