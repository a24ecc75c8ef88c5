import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type * as transport from '../../lib/transport';
import type { BenchMsg } from './payloads';
import { BenchClient, tcpClient, tcpServer, wsClient, wsServer } from './raw';

export type { BenchClient } from './raw';

/**
 * zk-ha, grpc-js, and the raw baselines: ws/tcp + msgpackr with writes corked per tick (the
 * ceiling a hand-written transport reaches) and uncorked (one write per frame).
 */
export type TransportName = 'zk-ha' | 'grpc-js' | 'ws-corked' | 'tcp-corked' | 'ws' | 'tcp' | 'zk-ha-base';
export const TRANSPORTS: readonly TransportName[] = ['zk-ha', 'ws-corked', 'tcp-corked', 'grpc-js', 'ws', 'tcp'];

/** Env var naming a directory holding another lib/ (e.g. `git archive main lib`): 'zk-ha-base' runs that one, for A/B rounds. */
export const BASE_LIB_ENV = 'ZKHA_BENCH_BASE_LIB';
/**
 * Env var naming a directory holding lib/ compiled by tsc (what the package ships): 'zk-ha' runs
 * that. Unset: the TypeScript source through tsx, whose module wrappers turn every cross-module
 * call into a getter call (the raw baselines' hot path stays inside one file and pays none).
 */
export const ZKHA_LIB_ENV = 'ZKHA_BENCH_LIB';

type TransportModule = typeof transport;

function transportIn(dir: string): TransportModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(path.resolve(dir), 'lib', 'transport')) as TransportModule;
}

/** The lib/transport of the row 'zk-ha': compiled (ZKHA_LIB_ENV) or the source. */
function headTransport(): TransportModule {
  const dir = process.env[ZKHA_LIB_ENV];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return dir === undefined ? (require('../../lib/transport') as TransportModule) : transportIn(dir);
}

/** The lib/transport of the A/B baseline ('zk-ha-base'), loaded only when asked for. */
function baseTransport(): TransportModule {
  const dir = process.env[BASE_LIB_ENV];
  if (dir === undefined) throw new Error(`zk-ha-base needs --base=DIR (a directory containing lib/)`);
  return transportIn(dir);
}

// ---------------------------------------------------------------- zk-ha

async function zkhaServer(lib: TransportModule): Promise<number> {
  const server = new lib.RpcServer({ port: 0, handlers: { echo: (p) => p }, maxInFlightPerConnection: 100_000, maxInFlight: 100_000 });
  return (await server.listen()).port;
}

async function zkhaClient(lib: TransportModule, port: number): Promise<BenchClient> {
  const conn = new lib.RpcConnection({ url: `ws://127.0.0.1:${port}`, reconnect: false });
  await conn.connect();
  return { call: (msg) => conn.call('echo', msg), close: () => conn.close() };
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
    case 'zk-ha': return zkhaServer(headTransport());
    case 'zk-ha-base': return zkhaServer(baseTransport());
    case 'grpc-js': return grpcServer();
    case 'ws-corked': return wsServer(true);
    case 'tcp-corked': return tcpServer(true);
    case 'ws': return wsServer(false);
    case 'tcp': return tcpServer(false);
  }
}

export function startClient(t: TransportName, port: number): Promise<BenchClient> {
  switch (t) {
    case 'zk-ha': return zkhaClient(headTransport(), port);
    case 'zk-ha-base': return zkhaClient(baseTransport(), port);
    case 'grpc-js': return grpcClient(port);
    case 'ws-corked': return wsClient(port, true);
    case 'tcp-corked': return tcpClient(port, true);
    case 'ws': return wsClient(port, false);
    case 'tcp': return tcpClient(port, false);
  }
}
