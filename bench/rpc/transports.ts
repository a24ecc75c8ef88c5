import net from 'node:net';
import path from 'node:path';
import { Packr, Unpackr } from 'msgpackr';
import { WebSocket, WebSocketServer } from 'ws';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { RpcConnection, RpcServer } from '../../lib/transport';
import type { BenchMsg } from './payloads';

export type TransportName = 'zk-ha' | 'grpc-js' | 'ws-msgpackr' | 'tcp-msgpackr';
export const TRANSPORTS: readonly TransportName[] = ['zk-ha', 'grpc-js', 'ws-msgpackr', 'tcp-msgpackr'];

export interface BenchClient {
  call(msg: BenchMsg): Promise<unknown>;
  close(): Promise<void>;
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

// ---------------------------------------------------------------- zk-ha

async function zkhaServer(): Promise<number> {
  const server = new RpcServer({ port: 0, handlers: { echo: (p) => p }, maxInFlightPerConnection: 100_000, maxInFlight: 100_000 });
  return (await server.listen()).port;
}

async function zkhaClient(port: number): Promise<BenchClient> {
  const conn = new RpcConnection({ url: `ws://127.0.0.1:${port}`, reconnect: false });
  await conn.connect();
  return { call: (msg) => conn.call('echo', msg), close: () => conn.close() };
}

// ---------------------------------------------------------------- raw ws + msgpackr: [id, payload]

async function wsServer(): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => {
      const [id, body] = unpackr.unpack(data) as [number, unknown];
      ws.send(packr.pack([id, body]));
    });
  });
  await new Promise((r) => wss.once('listening', r));
  return (wss.address() as net.AddressInfo).port;
}

async function wsClient(port: number): Promise<BenchClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const calls = correlator((id, msg) => ws.send(packr.pack([id, msg])));
  ws.on('message', (data: Buffer) => calls.reply(data));
  return {
    call: calls.call,
    close: async () => ws.close(),
  };
}

// ---------------------------------------------------------------- raw TCP + length-prefixed msgpackr

function frameReader(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let pos = 0;
    while (buf.length - pos >= 4) {
      const len = buf.readUInt32BE(pos);
      if (buf.length - pos - 4 < len) break;
      onFrame(buf.subarray(pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
    buf = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
  };
}

function lengthPrefixed(value: unknown): Buffer {
  const body = packr.pack(value);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

async function tcpServer(): Promise<number> {
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    sock.on('data', frameReader((frame) => {
      const [id, body] = unpackr.unpack(frame) as [number, unknown];
      sock.write(lengthPrefixed([id, body]));
    }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

async function tcpClient(port: number): Promise<BenchClient> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const calls = correlator((id, msg) => sock.write(lengthPrefixed([id, msg])));
  sock.on('data', frameReader((frame) => calls.reply(frame)));
  return {
    call: calls.call,
    close: async () => {
      sock.end();
    },
  };
}

// ---------------------------------------------------------------- grpc-js unary

interface EchoClient extends grpc.Client {
  Echo(msg: BenchMsg, cb: (err: grpc.ServiceError | null, res?: BenchMsg) => void): grpc.ClientUnaryCall;
}

function loadEcho(): grpc.GrpcObject {
  const def = protoLoader.loadSync(path.join(__dirname, 'echo.proto'), { keepCase: true, longs: Number, defaults: false });
  return grpc.loadPackageDefinition(def);
}

async function grpcServer(): Promise<number> {
  const pkg = loadEcho().bench as grpc.GrpcObject;
  const service = (pkg.Echo as grpc.ServiceClientConstructor).service;
  const server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<BenchMsg, BenchMsg>, cb: grpc.sendUnaryData<BenchMsg>) => cb(null, call.request),
  });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

async function grpcClient(port: number): Promise<BenchClient> {
  const pkg = loadEcho().bench as grpc.GrpcObject;
  const Ctor = pkg.Echo as grpc.ServiceClientConstructor;
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (e) => (e ? reject(e) : resolve())));
  return {
    call: (msg) => new Promise((resolve, reject) => client.Echo(msg, (err, res) => (err ? reject(err) : resolve(res)))),
    close: async () => client.close(),
  };
}

export function startServer(t: TransportName): Promise<number> {
  switch (t) {
    case 'zk-ha': return zkhaServer();
    case 'grpc-js': return grpcServer();
    case 'ws-msgpackr': return wsServer();
    case 'tcp-msgpackr': return tcpServer();
  }
}

export function startClient(t: TransportName, port: number): Promise<BenchClient> {
  switch (t) {
    case 'zk-ha': return zkhaClient(port);
    case 'grpc-js': return grpcClient(port);
    case 'ws-msgpackr': return wsClient(port);
    case 'tcp-msgpackr': return tcpClient(port);
  }
}

/** The raw baselines' call ids: send `[id, msg]`, resolve the call when `[id, body]` comes back. */
function correlator(send: (id: number, msg: unknown) => void): { call: (msg: unknown) => Promise<unknown>; reply: (frame: Buffer) => void } {
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  return {
    call: (msg) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        send(id, msg);
      }),
    reply: (frame) => {
      const [id, body] = unpackr.unpack(frame) as [number, unknown];
      const r = pending.get(id);
      pending.delete(id);
      r?.(body);
    },
  };
}
