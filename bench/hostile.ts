// Hostile input against one RpcServer (its own process, default limits unless said): what each
// attack costs the server (longest event-loop stall, RSS), what the attacker gets back, and
// whether a bystander is still served. Prints a table, writes bench/results/hostile.json.
//   npx tsx bench/hostile.ts [dag23 dag30 arrays legit reader1 reader3 deadlines halfopen badframes]
import { fork, ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Packr, Unpackr } from 'msgpackr';
import { WebSocket } from 'ws';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, RpcConnection, RpcError, RpcServerOptions } from '../lib/transport';
import { monotonicMs } from '../lib/base/clock';
import { sleep } from './lib/clock';
import { formatTable } from './lib/table';
import { machine, writeResult } from './lib/results';

interface Sample {
  rss: number; maxStallMs: number; cpuMs: number; faults: Record<string, number>; logLines: number; longestLine: number;
  connections: number; inFlight: number; buffered: number;
}
interface Row { attack: string; inputs: string; result: string; maxStallMs: number; cpuMs: number; rssMiB: number; bystander: string }

const MiB = 1024 * 1024;
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

class Target {
  private constructor(readonly child: ChildProcess, readonly port: number) {}
  static async start(opts: RpcServerOptions = {}): Promise<Target> {
    const child = fork(path.join(__dirname, 'hostile', 'server.ts'), [JSON.stringify(opts)], { stdio: 'inherit', execArgv: ['-r', 'tsx/cjs'] });
    const port = await new Promise<number>((resolve) => child.on('message', (m: { port?: number }) => m.port && resolve(m.port)));
    return new Target(child, port);
  }
  get url(): string { return `ws://127.0.0.1:${this.port}`; }
  private ask<T>(cmd: string, key: string): Promise<T> {
    return new Promise((resolve) => {
      const on = (m: Record<string, unknown>): void => { if (key in m) { this.child.off('message', on); resolve(m[key] as T); } };
      this.child.on('message', on);
      this.child.send({ cmd });
    });
  }
  sample(): Promise<Sample> { return this.ask('sample', 'sample'); }
  async flush(): Promise<void> { await this.ask('flush', 'flushed'); }
  stop(): void { this.child.kill('SIGKILL'); }
}

async function raw(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers: { [PROTOCOL_HEADER]: PROTOCOL_VERSION }, perMessageDeflate: false, maxPayload: 64 * MiB });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return ws;
}

function answer(ws: WebSocket, id: number, timeoutMs = 60_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer for ${id}`)), timeoutMs);
    const on = (d: Buffer): void => {
      const f = unpackr.unpack(d) as unknown[];
      if (f[1] === id) { clearTimeout(timer); ws.off('message', on); resolve(f); }
    };
    ws.on('message', on);
  });
}

/** A bystander's call: its outcome and latency. */
async function bystander(url: string): Promise<string> {
  const c = new RpcConnection({ url, reconnect: false, connectTimeoutMs: 5000 });
  const t0 = monotonicMs();
  try {
    await c.connect();
    await c.call('ok', null, { timeoutMs: 5000 });
    return `ok in ${(monotonicMs() - t0).toFixed(1)} ms`;
  } catch (e) {
    return `${(e as RpcError).code}`;
  } finally {
    await c.close();
  }
}

function dag(depth: number, id: number): Buffer {
  let v: unknown = [1];
  for (let i = 0; i < depth; i++) v = [v, v];
  return new Packr({ structuredClone: true }).pack([0, id, 'walk', v, 5000]);
}

function emptyArrays(bytes: number, id: number): Buffer {
  const n = bytes - 32;
  const arr = Buffer.alloc(5 + n, 0x90);
  arr[0] = 0xdd;
  arr.writeUInt32BE(n, 1);
  return Buffer.concat([Buffer.from([0x95, 0x00]), packr.pack(id), packr.pack('walk'), arr, packr.pack(5000)]);
}

async function frameAttack(name: string, frame: Buffer): Promise<Row> {
  const t = await Target.start();
  try {
    const ws = await raw(t.url);
    const before = await t.sample();
    const got = answer(ws, 1);
    ws.send(frame);
    const f = await got;
    const after = await t.sample();
    ws.terminate();
    return {
      attack: `${name} (${frame.length} B)`, inputs: '1', result: f[0] === 1 ? 'answered' : `refused: ${String(f[2])}`,
      maxStallMs: after.maxStallMs, cpuMs: after.cpuMs, rssMiB: (after.rss - before.rss) / MiB, bystander: await bystander(t.url),
    };
  } finally {
    t.stop();
  }
}

async function neverReading(conns: number): Promise<Row> {
  const t = await Target.start();
  try {
    await sleep(300);
    const base = await t.sample();
    const sockets: WebSocket[] = [];
    for (let c = 0; c < conns; c++) {
      const ws = await raw(t.url);
      ws.pause();
      for (let id = 1; id <= 3000; id++) ws.send(packr.pack([0, id, 'big', null, 60_000]));
      sockets.push(ws);
    }
    let peak = base.rss;
    let stall = 0;
    let cpuMs = 0;
    for (let i = 0; i < 40; i++) {
      await sleep(200);
      const s = await t.sample();
      peak = Math.max(peak, s.rss);
      stall = Math.max(stall, s.maxStallMs);
      cpuMs += s.cpuMs;
    }
    const end = await t.sample();
    const by = await bystander(t.url);
    for (const ws of sockets) ws.terminate();
    return {
      attack: `never-reading client x${conns}, handler answers 1 MiB`, inputs: `${conns * 3000} calls`,
      result: `cut: SLOW_CONSUMER x${end.faults.SLOW_CONSUMER ?? 0}, SLOW_READER x${end.faults.SLOW_READER ?? 0}, OVERLOADED x${end.faults.OVERLOADED ?? 0}; peak RSS ${(peak / MiB).toFixed(0)} MiB (baseline ${(base.rss / MiB).toFixed(0)} MiB; bound ${conns} x 32 MiB unsent)`,
      maxStallMs: stall, cpuMs, rssMiB: (peak - base.rss) / MiB, bystander: by,
    };
  } finally {
    t.stop();
  }
}

async function deadlines(): Promise<Row> {
  const t = await Target.start({ maxInFlight: 2000, maxInFlightPerConnection: 2000, maxDeadlineMs: 3000 });
  try {
    const ws = await raw(t.url);
    const bad = answer(ws, 2000);
    for (let id = 1; id <= 2000; id++) ws.send(packr.pack([0, id, 'hang', null, id % 2 ? Infinity : -1]));
    const badCode = String((await bad)[2]);
    for (let id = 2001; id <= 4000; id++) ws.send(packr.pack([0, id, 'hang', null, 1e300]));
    const t0 = monotonicMs();
    while ((await t.sample()).inFlight < 2000 && monotonicMs() - t0 < 5000) await sleep(20);
    let firstOk = Number.NaN;
    let refused = 0;
    while (monotonicMs() - t0 < 8000) {
      const r = await bystander(t.url);
      if (r.startsWith('ok')) { firstOk = monotonicMs() - t0; break; }
      refused++;
      await sleep(100);
    }
    const s = await t.sample();
    ws.terminate();
    return {
      attack: 'deadlines Infinity / -1, then 1e300 (maxInFlight 2000, maxDeadlineMs 3000)', inputs: '2000 + 2000 calls',
      result: `invalid: ${badCode}; 1e300 capped at maxDeadlineMs: all 2000 slots free again ${(firstOk / 1000).toFixed(1)} s after sending`,
      maxStallMs: s.maxStallMs, cpuMs: s.cpuMs, rssMiB: Number.NaN, bystander: `${refused} OVERLOADED, then ok`,
    };
  } finally {
    t.stop();
  }
}

async function halfOpen(): Promise<Row> {
  const t = await Target.start({ maxConnections: 200 });
  const sockets: net.Socket[] = [];
  try {
    const t0 = monotonicMs();
    const lifetimes: number[] = [];
    for (let i = 0; i < 300; i++) {
      const s = net.connect(t.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => lifetimes.push(monotonicMs() - t0));
      s.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
      sockets.push(s);
    }
    await sleep(500);
    const during = await bystander(t.url);
    while (lifetimes.length < 300 && monotonicMs() - t0 < 30_000) await sleep(100);
    const s = await t.sample();
    const after = await bystander(t.url);
    return {
      attack: 'half-open sockets (half an upgrade request; maxConnections 200)', inputs: '300 sockets',
      result: `${s.faults.MAX_CONNECTIONS ?? 0} refused at accept, ${s.faults.HANDSHAKE_TIMEOUT ?? 0} closed at handshakeTimeoutMs; longest lived ${(Math.max(...lifetimes) / 1000).toFixed(1)} s`,
      maxStallMs: s.maxStallMs, cpuMs: s.cpuMs, rssMiB: Number.NaN, bystander: `during: ${during}; after: ${after}`,
    };
  } finally {
    for (const s of sockets) s.destroy();
    t.stop();
  }
}

async function badFrames(): Promise<Row> {
  const t = await Target.start();
  try {
    const ws = await raw(t.url);
    for (let i = 0; i < 20_000; i++) ws.send(Buffer.from([0xc1, 0xc1, 0xc1]));
    ws.send(Buffer.concat([Buffer.from([0xdb, 0x00, 0x30, 0x00, 0x00]), Buffer.alloc(3 * MiB, 0x41), Buffer.from([0xc1])]));
    let s = await t.sample();
    while ((s.faults.UNDECODABLE_FRAME ?? 0) < 20_001) { await sleep(100); s = await t.sample(); }
    await t.flush();
    s = await t.sample();
    ws.terminate();
    return {
      attack: 'bad frames (not MessagePack), one of them 3 MB', inputs: '20 001 frames',
      result: `${s.logLines} log lines, longest ${s.longestLine} chars`,
      maxStallMs: s.maxStallMs, cpuMs: s.cpuMs, rssMiB: Number.NaN, bystander: await bystander(t.url),
    };
  } finally {
    t.stop();
  }
}

const ATTACKS: [string, () => Promise<Row>][] = [
  ['dag23', () => frameAttack('structured-clone DAG, 2^23 leaves', dag(23, 1))],
  ['dag30', () => frameAttack('structured-clone DAG, 2^30 leaves', dag(30, 1))],
  ['arrays', () => frameAttack('4 MB frame of empty arrays', emptyArrays(4 * MiB - 64, 1))],
  ['legit', () => frameAttack('for comparison: a valid 4 MB request (one string)', packr.pack([0, 1, 'walk', 'x'.repeat(4 * MiB - 64), 5000]))],
  ['reader1', () => neverReading(1)],
  ['reader3', () => neverReading(3)],
  ['deadlines', deadlines],
  ['halfopen', halfOpen],
  ['badframes', badFrames],
];

void (async () => {
  const only = process.argv.slice(2);
  const rows: Row[] = [];
  for (const [name, run] of ATTACKS) if (only.length === 0 || only.includes(name)) rows.push(await run());
  const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '—');
  console.log(formatTable(['attack', 'inputs', 'result', 'max stall ms', 'server CPU ms', 'RSS +MiB', 'bystander'],
    rows.map((r) => [r.attack, r.inputs, r.result, fmt(r.maxStallMs), fmt(r.cpuMs), fmt(r.rssMiB), r.bystander])));
  console.log(`\nwrote ${writeResult('hostile.json', { machine: machine(), measuredAt: new Date().toISOString(), rows })}`);
  process.exit(0);
})();
