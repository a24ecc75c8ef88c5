/**
 * Each measured defect of node-zookeeper-client, first reproduced with the bare client against real
 * ZooKeeper, then shown handled by ZkSession. If a new release fixes a defect, its "bare client"
 * test fails and tells us the workaround can go.
 */
import { spawnSync } from 'child_process';
import { expect } from 'chai';
import * as nzc from 'node-zookeeper-client';
import { startZooKeeper, TcpProxy, type ZkCluster } from './harness';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot, within } from './support/wait';
import { Sessions } from './support/sessions';
import { applyClientFixes, ZkError, ZkSession } from '../lib/zk';

function bareClient(connect: string, sessionTimeout: number): Promise<nzc.Client> {
  const client = nzc.createClient(connect, { sessionTimeout, spinDelay: 100 });
  client.on('error', () => undefined);
  return new Promise((resolve) => {
    client.once('connected', () => resolve(client));
    client.connect();
  });
}

function settles(p: Promise<unknown>): Promise<'settled'> {
  return p.then(() => 'settled' as const, () => 'settled' as const);
}

describe('node-zookeeper-client defects, reproduced and handled (real ZooKeeper)', function () {
  this.timeout(60000);
  let zk: ZkCluster;
  const sessions = new Sessions(() => ({ connect: zk.connectString, sessionTimeoutMs: 2000 }));
  const bare: nzc.Client[] = [];
  const open = (opts: Partial<ConstructorParameters<typeof ZkSession>[0]> = {}): Promise<ZkSession> => sessions.open(opts);

  before(async () => { zk = await startZooKeeper({ nodes: 1 }); });
  afterEach(async () => {
    for (const id of zk.nodes.map((n) => n.id)) if (zk.isRunning(id)) zk.resume(id);
    await sessions.closeAll();
    for (const c of bare.splice(0)) c.connectionManager.socket?.destroy();
  });
  after(async () => { await zk?.close(); });

  describe('no read timeout: a frozen server leaves the client "connected" forever', () => {
    it('bare client: still SYNC_CONNECTED long after the server froze', async () => {
      const client = await bareClient(zk.connectString, 1000);
      bare.push(client);
      zk.pause(1);
      await sleep(2500);
      expect(client.getState().name).to.equal('SYNC_CONNECTED');
      zk.resume(1);
    });

    it('ZkSession: the watchdog drops the silent connection and the session is suspended', async () => {
      const s = await open({ sessionTimeoutMs: 1000 });
      const suspended = new Promise((r) => s.once('suspended', r));
      zk.pause(1);
      await within(3000, 'suspended after the server froze', suspended);
      expect(s.stats.abandonedConnections).to.be.greaterThan(0);
      zk.resume(1);
    });
  });

  describe('requests queued during a disconnect never settle', () => {
    it('bare client: a request issued while the server is gone is still pending after its session timeout', async () => {
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.nodes[0]!.clientPort });
      try {
        const client = await bareClient(proxy.address, 1000);
        bare.push(client);
        proxy.refuse(true);
        proxy.reset();
        await eventually('disconnected', () => client.getState().name === 'DISCONNECTED');
        let settled = false;
        client.exists('/', undefined, () => { settled = true; });
        await sleep(2500);
        expect(settled).to.equal(false);
      } finally {
        await proxy.close();
      }
    });

    it('ZkSession: every request settles with a typed error (TIMEOUT or SESSION_EXPIRED)', async () => {
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.nodes[0]!.clientPort });
      try {
        const s = await open({ connect: proxy.address, sessionTimeoutMs: 1000 });
        proxy.refuse(true);
        proxy.reset();
        await eventually('suspended', () => s.state === 'suspended');
        const results = await within(5000, '20 requests settle', Promise.all(
          Array.from({ length: 20 }, (_, i) => s.exists(`/x${i}`).then(() => 'ok', (e: ZkError) => e.code)),
        ));
        for (const r of results) expect(['TIMEOUT', 'SESSION_EXPIRED']).to.include(r);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('expired leaves the client unusable', () => {
    it('bare client: after expiry it never reconnects and every request fails', async () => {
      const client = await bareClient(zk.connectString, 2000);
      bare.push(client);
      const expired = new Promise((r) => client.once('expired', r));
      await zk.expireSession(client.getSessionId(), client.getSessionPassword());
      // The bare client learns of it on its next exchange; should the take-over have raced its
      // reconnect, expire once more (this test is about what the client does after expiry).
      const seen = await within(5000, 'expired', expired).then(() => true, () => false);
      if (!seen) {
        await zk.expireSession(client.getSessionId(), client.getSessionPassword());
        await within(15000, 'expired', expired);
      }
      const error = await new Promise<unknown>((r) => client.exists('/', undefined, (e) => r(e)));
      expect([-4, -112]).to.include((error as nzc.Exception).code);
      await sleep(1000);
      // It never opens a new session: still not connected, and requests still fail.
      expect(client.getState().name).to.not.equal('SYNC_CONNECTED');
      const again = await new Promise<unknown>((r) => client.exists('/', undefined, (e) => r(e)));
      expect([-4, -112]).to.include((again as nzc.Exception).code);
    });

    it('ZkSession: lost, then a new session by itself; the old ephemeral node is gone', async () => {
      const root = uniqueRoot();
      const s = await open();
      await s.mkdirp(root);
      const eph = await s.create(`${root}/e`, 'x', { mode: 'ephemeral' });
      const oldId = s.sessionId;
      const lost = new Promise<[{ reason: string }]>((r) => s.once('lost', (...a) => r(a)));
      const fresh = new Promise((r) => s.once('session', r));
      const creds = s.credentials!;
      await zk.expireSession(creds.sessionId, creds.password);
      expect((await within(5000, 'lost', lost))[0].reason).to.equal('expired');
      await within(5000, 'new session', fresh);
      expect(s.sessionId).to.not.equal(oldId);
      expect(await s.exists(eph)).to.equal(null);
      expect(await s.exists(root)).to.not.equal(null);
    });
  });

  describe('never learns of expiry while partitioned', () => {
    it('bare client: cut off by a partition for 3x its timeout, it never reports expiry', async () => {
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.nodes[0]!.clientPort });
      try {
        const client = await bareClient(proxy.address, 1000);
        bare.push(client);
        let expired = false;
        client.once('expired', () => { expired = true; });
        proxy.blackhole();
        await sleep(3000);
        expect(expired).to.equal(false);
      } finally {
        await proxy.close();
      }
    });

    it('ZkSession: the local expiry timer reports lost, and a new session follows when the link heals', async () => {
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.nodes[0]!.clientPort });
      try {
        const s = await open({ connect: proxy.address, sessionTimeoutMs: 1000 });
        const lost = new Promise<[{ reason: string }]>((r) => s.once('lost', (...a) => r(a)));
        proxy.blackhole();
        expect((await within(5000, 'lost while partitioned', lost))[0].reason).to.equal('timeout');
        const fresh = new Promise((r) => s.once('session', r));
        proxy.heal();
        await within(10000, 'new session after heal', fresh);
        expect(s.state).to.equal('connected');
      } finally {
        await proxy.close();
      }
    });
  });

  describe('close() before connect throws', () => {
    it('bare client: close() before any connection throws a TypeError', () => {
      const client = nzc.createClient('127.0.0.1:1', { sessionTimeout: 1000 });
      client.on('error', () => undefined);
      expect(() => client.close()).to.throw(TypeError);
    });

    it('ZkSession: close() is safe in every state (idle, connecting, connected, suspended, closed)', async () => {
      await new ZkSession({ connect: '127.0.0.1:1' }).close();
      const connecting = new ZkSession({ connect: '127.0.0.1:1', startTimeoutMs: 60000 });
      const started = connecting.start().catch((e: ZkError) => e.code);
      await connecting.close();
      expect(await started).to.equal('CLOSED');
      const s = await open();
      await s.close();
      await s.close();
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.nodes[0]!.clientPort });
      try {
        const t = await open({ connect: proxy.address });
        proxy.refuse(true);
        proxy.reset();
        await eventually('suspended', () => t.state === 'suspended');
        await t.close();
        expect(t.state).to.equal('closed');
      } finally {
        await proxy.close();
      }
    });
  });

  describe('transaction version 0 means "any"', () => {
    it('bare client: check(path, 0) passes against a node at version 1', async () => {
      const s = await open();
      const root = uniqueRoot();
      await s.mkdirp(root, 'a');
      await s.set(root, 'b'); // now version 1
      const client = await bareClient(zk.connectString, 2000);
      bare.push(client);
      const error = await new Promise<unknown>((r) => client.transaction().check(root, 0).commit((e) => r(e)));
      expect(error).to.equal(null);
    });

    it('ZkSession: multi check/set/delete with version 0 means version 0', async () => {
      const s = await open();
      const root = uniqueRoot();
      await s.mkdirp(root, 'a');
      await s.set(root, 'b');
      for (const op of [
        { op: 'check' as const, path: root, version: 0 },
        { op: 'set' as const, path: root, data: 'c', version: 0 },
        { op: 'delete' as const, path: root, version: 0 },
      ]) {
        const error = await s.multi([op]).then(() => undefined, (e: ZkError) => e);
        expect(error?.code, op.op).to.equal('BAD_VERSION');
      }
      await s.multi([{ op: 'check', path: root, version: 1 }, { op: 'set', path: root, data: 'c', version: 1 }]);
      expect((await s.get(root)).data.toString()).to.equal('c');
    });
  });

  describe('unknown server error codes throw from the socket handler', () => {
    it('bare library in a fresh process: Exception.create of a code it does not know throws', () => {
      // The defect itself (that throw inside onSocketData kills the process) is reproduced end to end
      // in zk-quota.test.ts against a ZooKeeper enforcing quotas.
      const r = spawnSync(process.execPath, ['-e', "require('node-zookeeper-client').Exception.create(-125)"], { encoding: 'utf8' });
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.contain('Unknown code: -125');
    });

    it('lib/zk applied its runtime fix: an unknown code is an ordinary Exception, known codes unchanged', () => {
      expect(applyClientFixes()).to.include('unknown-error-codes');
      const quota = nzc.Exception.create(-125, '/q');
      expect(quota).to.be.instanceOf(nzc.Exception);
      expect(quota).to.include({ code: -125, name: 'QUOTA_EXCEEDED', path: '/q' });
      expect(quota.getCode()).to.equal(-125);
      expect(nzc.Exception.create(-999).name).to.equal('UNKNOWN_SERVER_ERROR');
      expect(nzc.Exception.create(-101).name).to.equal('NO_NODE');
      expect(ZkError.fromServerCode(quota.code, 'create', '/q').code).to.equal('QUOTA_EXCEEDED');
    });
  });

  describe('session basics against the shared server', () => {
    it('create/get/set/delete/children/exists, recursive create and delete, typed errors', async () => {
      const shared = await sharedZooKeeper();
      const s = await open({ connect: shared.connectString });
      const root = uniqueRoot();
      await s.mkdirp(`${root}/a/b/c`, 'leaf');
      expect((await s.get(`${root}/a/b/c`)).data.toString()).to.equal('leaf');
      expect((await s.children(`${root}/a`)).children).to.deep.equal(['b']);
      const err = await s.create(`${root}/a`).catch((e: ZkError) => e);
      expect(err).to.be.instanceOf(ZkError);
      expect((err as ZkError).code).to.equal('NODE_EXISTS');
      expect(((await s.delete(root).catch((e: ZkError) => e)) as ZkError).code).to.equal('NOT_EMPTY');
      expect(((await s.set(`${root}/a`, 'x', 7).catch((e: ZkError) => e)) as ZkError).code).to.equal('BAD_VERSION');
      for (let i = 0; i < 5; i++) await s.create(`${root}/a/b/c/n${i}`, undefined, { mode: 'persistent' });
      await s.deleteRecursive(root);
      expect(await s.exists(root)).to.equal(null);
      const seq = await s.create(`${root}-seq-`, 'x', { mode: 'ephemeral-sequential' });
      expect(seq).to.match(/-seq-\d{10}$/);
      const watched = new Promise((r) => void s.exists(seq, { watch: r }));
      await s.delete(seq);
      expect(await within(3000, 'watch fires', watched)).to.deep.equal({ type: 'deleted', path: seq });
    });

    it('the lease clock: probes keep confirmedAt fresh on an idle session', async () => {
      const shared = await sharedZooKeeper();
      const s = await open({ connect: shared.connectString, sessionTimeoutMs: 1200 });
      await eventually('first probe answered', () => s.leaseHolds(0.5));
      const probesBefore = s.stats.probes;
      await sleep(1500);
      expect(s.stats.probes).to.be.greaterThan(probesBefore);
      expect(s.leaseHolds(0.5)).to.equal(true);
    });

    it('the lease clock: only leader-ordered answers (writes) renew it, never a read a follower could serve', async () => {
      const shared = await sharedZooKeeper();
      const s = await open({ connect: shared.connectString, sessionTimeoutMs: 30000 }); // no periodic probe during the test
      await eventually('first probe answered', () => s.leaseHolds(0.5));
      const before = s.confirmedAt;
      for (let i = 0; i < 5; i++) await s.exists('/');
      await s.children('/');
      expect(s.confirmedAt, 'reads leave the lease alone').to.equal(before);
      await s.multi([{ op: 'check', path: '/', version: -1 }]);
      expect(s.confirmedAt, 'a write renews it').to.be.greaterThan(before);
      const reader = await open({ connect: shared.connectString, sessionTimeoutMs: 30000, leaseProbe: 'read' });
      await eventually('first probe answered', () => reader.leaseHolds(0.5));
      const readerBefore = reader.confirmedAt;
      await reader.exists('/');
      expect(reader.confirmedAt, 'a session holding no lease counts every answer').to.be.greaterThan(readerBefore);
    });

    it('requests settle on close: none hang', async () => {
      const shared = await sharedZooKeeper();
      const s = await open({ connect: shared.connectString });
      const inflight = Array.from({ length: 50 }, (_, i) => settles(s.exists(`/nope${i}`)));
      await s.close();
      expect(await within(3000, 'all settle', Promise.all(inflight))).to.have.length(50);
      expect(((await s.exists('/').catch((e: ZkError) => e)) as ZkError).code).to.equal('CLOSED');
    });
  });
});
