import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { DownEvent, RpcConnection, TransportFault } from '../../lib/transport';
import { expectRejection, startChild, until } from './helpers';

describe('transport heartbeat', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });

  it('declares a frozen server dead, then reconnects with backoff after it resumes', async () => {
    const started = await startChild();
    child = started.child;
    const conn = new RpcConnection({
      url: started.url, heartbeatMs: 100, heartbeatTimeoutMs: 400, connectTimeoutMs: 300, reconnect: { initialMs: 50, maxMs: 400 },
    });
    const downs: DownEvent[] = [];
    const faults: TransportFault[] = [];
    let ups = 0;
    conn.on('down', (d: DownEvent) => downs.push(d));
    conn.on('fault', (f: TransportFault) => faults.push(f));
    conn.on('up', () => ups++);
    try {
      await conn.connect();
      expect((await conn.call('pid', null)).result).to.equal(child.pid);
      child.kill('SIGSTOP');
      const pending = expectRejection(conn.call('echo', 'frozen', { timeoutMs: 10_000 }));
      const stoppedAt = Date.now();
      await until(() => downs.length === 1, 5000, 'down event');
      const detectedAfter = Date.now() - stoppedAt;
      expect(detectedAfter).to.be.at.least(350);
      expect(downs[0]!.reason).to.match(/heartbeat timeout/);
      expect(faults.map((f) => f.code)).to.include('HEARTBEAT_TIMEOUT');
      // the call written before the freeze: outcome unknown
      expect(await pending).to.include({ code: 'UNAVAILABLE', notExecuted: false });
      // while frozen, calls fail fast and reconnect attempts time out and back off
      expect(await expectRejection(conn.call('echo', 1))).to.include({ code: 'UNAVAILABLE', notExecuted: true });
      await until(() => faults.filter((f) => f.code === 'CONNECT_FAILED').length >= 2, 5000, 'failed reconnect attempts');
      child.kill('SIGCONT');
      await until(() => conn.state === 'up', 8000, 'reconnected');
      expect(ups).to.equal(2);
      expect((await conn.call('echo', 'thawed')).result).to.equal('thawed');
    } finally {
      await conn.close();
    }
  });
});
