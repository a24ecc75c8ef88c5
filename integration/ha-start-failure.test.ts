/**
 * A start() that cannot complete settles with a typed error and a "start-failed" report, and
 * releases everything it opened: the process that ran it ends by itself. The same script runs
 * from the packed tarball in package.test.ts.
 */
import { expect } from 'chai';
import * as path from 'path';
import * as http from 'http';
import { HaServer } from '../lib';
import { HttpSurface } from '../lib/ha/http-surface';
import { ZkSession } from '../lib/zk';
import { expectQuotaRejections, freePort, quotaRoot, runStartFailure, startQuotaZooKeeper, uniqueRoot, within, type ZkCluster } from './support';

const fromSources = { ZK_HA_MODULE: path.join(__dirname, '..', 'lib', 'index.ts'), NODE_OPTIONS: '-r tsx/cjs' };

describe('HaServer.start() that fails (real ZooKeeper, real processes)', function () {
  this.timeout(60000);
  let zk: ZkCluster;
  before(async () => { zk = await startQuotaZooKeeper(); });
  after(async () => { await zk?.close(); });

  it('ZooKeeper enforcing a quota: the members that do not fit reject with QUOTA_EXCEEDED, report it, and the process exits', async () => {
    const root = await quotaRoot(zk.connectString, 'start-quota', 4);
    const r = await within(45000, 'the process ends by itself', runStartFailure(['quota', zk.connectString, root], fromSources));
    expectQuotaRejections(r);
    expect(r.events.map((e) => e.event)).to.include('closed');
  });

  it('close() in the same tick as start(): start() settles (typed), nothing stays bound or registered', async () => {
    const root = uniqueRoot('start-close');
    const probe = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 });
    await probe.start();
    try {
      for (const http of [undefined, { port: 0 }]) {
        const server = new HaServer({ zk: { connect: zk.connectString, sessionTimeoutMs: 2000 }, service: 'race', mode: 'primary-backup', root, http });
        const starting = server.start().then(() => 'started', (e: { code?: string }) => e.code ?? 'untyped');
        await server.close();
        // It was pending for ever: the RPC listener was closed before it bound.
        const outcome = await within(10000, 'start() settles', starting);
        expect(outcome).to.be.oneOf(['CLOSED', 'UNAVAILABLE']);
        expect(server.role).to.equal('stopped');
        const members = await probe.children(`${root}/race/members`).then((r) => r.children, () => []);
        expect(members).to.deep.equal([]);
      }
    } finally {
      await probe.close();
    }
  });

  it('close() while start() binds the operators\' own port, on a shared session: start() rejects CLOSED, nothing registered, nothing listening', async () => {
    const root = uniqueRoot('start-close-shared');
    const shared = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 });
    await shared.start();
    const server = new HaServer({ zk: shared, service: 'race', mode: 'primary-backup', root, http: { port: 0 } });
    const listen = HttpSurface.prototype.listen;
    let closing: Promise<void> | undefined;
    HttpSurface.prototype.listen = function (this: HttpSurface, o) {
      const bound = listen.call(this, o);
      closing = server.close(); // a SIGTERM handler, while the port binds
      return bound;
    };
    try {
      const outcome = await within(10000, 'start() settles', server.start().then(() => 'started', (e: { code?: string }) => e.code ?? 'untyped'));
      await closing;
      // It resolved "started" after close(), and registered a member at a dead URL for as long as the shared session lived.
      expect(outcome).to.equal('CLOSED');
      expect(server.role).to.equal('stopped');
      await new Promise((r) => setTimeout(r, 500));
      expect(await shared.children(`${root}/race/members`).then((r) => r.children, () => [])).to.deep.equal([]);
      const status = await new Promise<string>((resolve) => {
        http.get(`${server.httpUrl}/healthz`, (res) => { res.resume(); resolve(String(res.statusCode)); }).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(status).to.equal('ECONNREFUSED');
    } finally {
      HttpSurface.prototype.listen = listen;
      await shared.close();
    }
  });

  it('ZooKeeper unreachable: every start() rejects with TIMEOUT after startTimeoutMs, and the process exits', async () => {
    const port = await freePort();
    const r = await within(45000, 'the process ends by itself', runStartFailure(['unreachable', `127.0.0.1:${port}`, uniqueRoot('start-none')], fromSources));
    expect(r.code, r.stderr).to.equal(0);
    const started = r.events.find((e) => e.event === 'started') as { results: string[]; roles: string[]; faults: unknown[] } | undefined;
    expect(started?.results).to.deep.equal(['TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
    expect(started?.roles).to.deep.equal(['stopped', 'stopped', 'stopped']);
    expect(started?.faults).to.have.length(3);
  });
});
