import { expect } from 'chai';
import { encodeRequest, RpcServer, TransportFault } from '../../lib/transport';
import { RpcConnection } from '../../lib/transport';
import { rawClient, sleep, until } from './helpers';

describe('transport slow reader', () => {
  it('a client that never reads cannot grow the server memory: reading from it is paused', async () => {
    const RESPONSE = 256 * 1024;
    const HWM = 512 * 1024;
    const PER_CONN = 8;
    let handled = 0;
    const faults: TransportFault[] = [];
    const server = new RpcServer({
      highWaterMarkBytes: HWM,
      maxInFlightPerConnection: PER_CONN,
      handlers: { big: () => { handled++; return Buffer.alloc(RESPONSE, 1); } },
      onFault: (f) => faults.push(f),
    });
    const { url } = await server.listen();
    const ws = await rawClient(url);
    try {
      ws.pause(); // the client stops reading its socket
      const CALLS = 1000; // would be 256 MB of responses
      for (let id = 1; id <= CALLS; id++) ws.send(encodeRequest(id, 'big', null, 60_000));
      await until(() => faults.some((f) => f.code === 'SLOW_READER'), 5000, 'SLOW_READER fault');
      await sleep(500);
      const handledWhilePaused = handled;
      let maxBuffered = server.bufferedBytes;
      for (let i = 0; i < 10; i++) {
        await sleep(50);
        maxBuffered = Math.max(maxBuffered, server.bufferedBytes);
      }
      // Only what fits in the kernel's socket buffers plus our high-water mark was served.
      expect(handled).to.equal(handledWhilePaused);
      expect(handled).to.be.lessThan(CALLS / 10);
      expect(maxBuffered).to.be.at.most(HWM + (PER_CONN + 1) * (RESPONSE + 64));
      // Once the client reads again, reading resumes and every call is answered.
      let answered = 0;
      ws.on('message', () => answered++);
      ws.resume();
      await until(() => answered === CALLS, 20_000, 'all calls answered after resume');
      expect(handled).to.equal(CALLS);
      expect(server.inFlight).to.equal(0);
    } finally {
      ws.terminate();
      await server.close({ graceMs: 0 });
    }
  });

  it('a client that never reads while async handlers answer 1 MiB each is cut at maxBufferedBytes (SLOW_CONSUMER), bystanders unharmed', async () => {
    const MAX = 24 * 1024 * 1024;
    const faults: TransportFault[] = [];
    let peak = 0;
    const server = new RpcServer({
      maxBufferedBytes: MAX,
      handlers: { big: async () => { await sleep(5); return Buffer.alloc(1024 * 1024, 7); }, ok: () => 'ok' },
      onFault: (f) => faults.push(f),
    });
    const { url } = await server.listen();
    const sampler = setInterval(() => (peak = Math.max(peak, server.bufferedBytes)), 2);
    const ws = await rawClient(url);
    const bystander = new RpcConnection({ url, reconnect: false });
    try {
      await bystander.connect();
      ws.pause();
      for (let id = 1; id <= 2000; id++) ws.send(encodeRequest(id, 'big', null, 60_000));
      await until(() => faults.some((f) => f.code === 'SLOW_CONSUMER'), 20_000, 'SLOW_CONSUMER fault');
      await until(() => server.connections === 1, 5000, 'slow consumer disconnected');
      expect(peak).to.be.at.most(MAX + 1024 * 1024 + 1024);
      expect(server.bufferedBytes).to.equal(0);
      await until(() => server.inFlight === 0, 5000, 'its calls aborted');
      expect((await bystander.call('ok', null)).result).to.equal('ok');
    } finally {
      clearInterval(sampler);
      ws.terminate();
      await bystander.close();
      await server.close({ graceMs: 0 });
    }
  });

  it('a peer whose answers stay over the high-water mark for slowConsumerTimeoutMs is cut', async () => {
    const faults: TransportFault[] = [];
    const server = new RpcServer({
      highWaterMarkBytes: 16 * 1024,
      slowConsumerTimeoutMs: 300,
      heartbeatMs: 50,
      heartbeatTimeoutMs: 60_000, // the liveness check runs often; the peer's silence is not what is tested
      maxInFlightPerConnection: 8,
      handlers: { mid: () => Buffer.alloc(256 * 1024, 1) },
      onFault: (f) => faults.push(f),
    });
    const { url } = await server.listen();
    const ws = await rawClient(url);
    try {
      ws.pause();
      // kernel socket buffers absorb a few MiB first: send enough to stay over the mark
      for (let id = 1; id <= 400; id++) ws.send(encodeRequest(id, 'mid', null, 60_000));
      await until(() => faults.some((f) => f.code === 'SLOW_CONSUMER'), 10_000, 'SLOW_CONSUMER fault');
      const cut = faults.find((f) => f.code === 'SLOW_CONSUMER')!;
      expect(cut.message).to.match(/slowConsumerTimeoutMs/);
      await until(() => server.connections === 0, 5000, 'connection closed');
    } finally {
      ws.terminate();
      await server.close({ graceMs: 0 });
    }
  });
});
