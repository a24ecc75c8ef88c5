import { expect } from 'chai';
import { encodeRequest, RpcServer, TransportFault } from '../../lib/transport';
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
});
