import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { WebSocket } from 'ws';
import { Packr, Unpackr } from 'msgpackr';
import { FrameError, PROTOCOL_HEADER, PROTOCOL_VERSION, RpcConnection, RpcConnectionOptions, RpcServer, RpcServerOptions, TransportFault } from '../../lib/transport';

export const packr = new Packr({ useRecords: false });
export const unpackr = new Unpackr({ useRecords: false });

/** Starts a server and a connected client; `cleanup` closes both. */
export async function startPair(
  serverOpts: RpcServerOptions = {},
  clientOpts: Partial<RpcConnectionOptions> = {},
): Promise<{ server: RpcServer; client: RpcConnection; url: string; faults: TransportFault[]; cleanup: () => Promise<void> }> {
  const faults: TransportFault[] = [];
  const server = new RpcServer({ ...serverOpts, onFault: (f) => faults.push(f) });
  const { url } = await server.listen();
  const client = new RpcConnection({ url, reconnect: false, ...clientOpts });
  await client.connect();
  return {
    server, client, url, faults,
    cleanup: async () => {
      await client.close();
      await server.close({ graceMs: 0 });
    },
  };
}

/**
 * A bare ws client speaking the protocol header, for sending hand-made frames. Its masking keys
 * are zeros, like RpcConnection's, so that its frames take the server's lean read path
 * (frame-reader.ts); `randomMask` sends them through ws's receiver instead, like a browser's.
 */
export async function rawClient(url: string, opts: { randomMask?: boolean } = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, {
    headers: { [PROTOCOL_HEADER]: PROTOCOL_VERSION },
    perMessageDeflate: false,
    generateMask: opts.randomMask ? undefined : (mask: Buffer) => void mask.fill(0),
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** Resolves with the next decoded frame whose id is `id`. */
export function nextFrameFor(ws: WebSocket, id: number, timeoutMs = 5000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`no frame for id ${id} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (data: Buffer): void => {
      const f = unpackr.unpack(data) as unknown[];
      if (f[1] === id) {
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(f);
      }
    };
    ws.on('message', onMessage);
  });
}

/** Runs `fn`, which must throw a FrameError; returns it. */
export function frameError(fn: () => unknown): FrameError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(FrameError);
    return err as FrameError;
  }
  throw new Error('expected a FrameError');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `cond` is true, or fails after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export async function expectRejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the promise to reject');
}

/** A transport server in its own process (fixtures/server-child.ts), to freeze or to give its own clock. */
export function startChild(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-r', require.resolve('tsx/cjs'), path.join(__dirname, 'fixtures', 'server-child.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ child, url: (JSON.parse(line!) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`server child exited with ${code}`)));
  });
}
