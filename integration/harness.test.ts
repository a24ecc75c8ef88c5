import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HarnessError, parseMode, processAlive, spawnTracked, startZooKeeper, type ZkCluster } from './harness';
import type { LocalCluster } from './harness/local-cluster';
import { eventually, within } from './support/wait';

// node-zookeeper-client has no bundled types; this file needs only these few calls.
interface NzcState {
  readonly name: string;
}
interface NzcClient {
  connect(): void;
  close(): void;
  once(event: 'connected' | 'expired', listener: () => void): void;
  on(event: 'state', listener: (state: NzcState) => void): void;
  getSessionId(): Buffer;
  getSessionPassword(): Buffer;
  create(path: string, data: Buffer | null, mode: number, cb: (err: Error | null, path?: string) => void): void;
  exists(path: string, cb: (err: Error | null, stat: unknown) => void): void;
}
interface NzcLike {
  createClient(connect: string, opts?: { sessionTimeout?: number; spinDelay?: number; retries?: number }): NzcClient;
  CreateMode: { EPHEMERAL: number };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const zookeeper = require('node-zookeeper-client') as NzcLike;


async function connectedClient(connectString: string): Promise<NzcClient> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 10000, spinDelay: 100 });
  const connected = new Promise<void>((resolve) => client.once('connected', resolve));
  client.connect();
  await within(10000, 'client connects', connected);
  return client;
}

function createEphemeral(client: NzcClient, p: string): Promise<void> {
  return new Promise((resolve, reject) =>
    client.create(p, Buffer.from('x'), zookeeper.CreateMode.EPHEMERAL, (err) => (err ? reject(err) : resolve())),
  );
}

function exists(client: NzcClient, p: string): Promise<boolean> {
  return new Promise((resolve, reject) => client.exists(p, (err, stat) => (err ? reject(err) : resolve(stat != null))));
}

/** Creates an ephemeral node, expires its session via the harness, checks both sides of it. */
async function expectExpiryWorks(cluster: ZkCluster): Promise<void> {
  const owner = await connectedClient(cluster.connectString);
  const observer = await connectedClient(cluster.connectString);
  try {
    const node = `/harness-eph-${process.pid}-${Date.now()}`;
    await createEphemeral(owner, node);
    // Another client, maybe on another follower, sees the create once that follower has applied it.
    await eventually('the observer sees the node', () => exists(observer, node));
    const states: string[] = [];
    owner.on('state', (s) => states.push(s.name));
    const expired = new Promise<void>((resolve) => owner.once('expired', resolve));
    await cluster.expireSession(owner.getSessionId(), owner.getSessionPassword());
    await within(10000, 'the owner sees EXPIRED', expired);
    expect(states).to.include('EXPIRED');
    await eventually('the ephemeral node is gone', async () => !(await exists(observer, node)));
  } finally {
    owner.close();
    observer.close();
  }
}

describe('ZooKeeper harness (real ZooKeeper)', function () {
  this.timeout(60000);

  describe('standalone', () => {
    let cluster: LocalCluster;

    before(async () => {
      cluster = (await startZooKeeper({ backend: 'local' })) as LocalCluster;
    });
    after(() => cluster.close());

    it('serves, and the four-letter words parse', async () => {
      expect(cluster.nodes).to.have.length(1);
      expect(cluster.connectString).to.equal(`127.0.0.1:${cluster.nodes[0]!.clientPort}`);
      expect(cluster.startupMs).to.be.greaterThan(0);
      expect(cluster.isRunning(1)).to.equal(true);
      expect(cluster.pid(1)).to.be.a('number');
      expect(parseMode(await cluster.srvr(1))).to.equal('standalone');
      expect(await cluster.fourLetter(1, 'ruok')).to.equal('imok');
      const mntr = await cluster.mntr(1);
      expect(mntr.zk_server_state).to.equal('standalone');
      expect(mntr.zk_version).to.match(/^3\.8\./);
      expect(await cluster.cons(1)).to.include('/127.0.0.1:');
      expect(await cluster.fourLetter(1, 'conf')).to.include('maxSessionTimeout=60000');
      expect(await cluster.leader()).to.equal(1);
      expect(await cluster.followers()).to.deep.equal([]);
    });

    it('negotiates the configured session timeouts (min 2 × tickTime, max 60 s)', async () => {
      const conf = await cluster.fourLetter(1, 'conf');
      expect(conf).to.include('minSessionTimeout=200');
      expect(conf).to.include('tickTime=100');
    });

    it('expireSession() really expires a node-zookeeper-client session', async () => {
      await expectExpiryWorks(cluster);
    });

    it('expireSession() of an unknown session resolves (already expired)', async () => {
      await cluster.expireSession(0x1234n, Buffer.alloc(16));
    });

    it('rejects an unknown node id with a typed error', async () => {
      expect(() => cluster.pid(7)).to.throw(HarnessError).with.property('code', 'UNKNOWN_NODE');
    });

    it('close() kills the JVM (even a paused one), removes the temp dir and is idempotent', async () => {
      const pid = cluster.pid(1)!;
      const dir = cluster.nodeDir(1);
      expect(fs.existsSync(dir)).to.equal(true);
      expect(fs.readFileSync(path.join(dir, 'zookeeper.log'), 'utf8')).to.include('binding to port');
      cluster.pause(1);
      await Promise.all([cluster.close(), cluster.close()]);
      expect(processAlive(pid)).to.equal(false);
      expect(fs.existsSync(dir)).to.equal(false);
      expect(cluster.isRunning(1)).to.equal(false);
      await cluster.close();
    });
  });

  describe('3-node ensemble', () => {
    let cluster: ZkCluster;

    before(async () => {
      cluster = await startZooKeeper({ nodes: 3, backend: 'local' });
    });
    after(() => cluster.close());

    it('is ready with exactly one leader and two followers', async () => {
      expect(cluster.nodes.map((n) => n.id)).to.deep.equal([1, 2, 3]);
      expect(cluster.connectString.split(',')).to.have.length(3);
      const modes = await Promise.all(cluster.nodes.map(async (n) => parseMode(await cluster.srvr(n.id))));
      expect(modes.filter((m) => m === 'leader')).to.have.length(1);
      expect(modes.filter((m) => m === 'follower')).to.have.length(2);
      const leader = await cluster.leader();
      expect(await cluster.followers()).to.have.members([1, 2, 3].filter((id) => id !== leader));
    });

    it('expireSession() expires a session wherever the client is connected', async () => {
      await expectExpiryWorks(cluster);
    });

    it('kill(leader) elects a new leader among the others; restart() brings the node back', async () => {
      const old = await cluster.leader();
      const pid = cluster.pid(old)!;
      await cluster.kill(old);
      expect(cluster.isRunning(old)).to.equal(false);
      expect(cluster.pid(old)).to.equal(undefined);
      expect(processAlive(pid)).to.equal(false);
      const next = await cluster.leader();
      expect(next).to.not.equal(old);
      await cluster.restart(old);
      await cluster.waitReady();
      expect(cluster.isRunning(old)).to.equal(true);
      expect(parseMode(await cluster.srvr(old))).to.equal('follower');
      expect(await cluster.leader()).to.equal(next);
    });

    it('pause() freezes a node (srvr gets no answer) and resume() thaws it', async () => {
      const [follower] = await cluster.followers();
      cluster.pause(follower!);
      expect(cluster.isRunning(follower!)).to.equal(true);
      const err = await cluster.fourLetter(follower!, 'srvr').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(HarnessError).with.property('code', 'TIMEOUT');
      cluster.resume(follower!);
      // A follower frozen past syncLimit re-syncs with the leader before it serves again.
      await eventually('the thawed node serves as a follower again', async () => parseMode(await cluster.srvr(follower!)) === 'follower', 20000);
      await cluster.waitReady();
    });

    it('dropQuorum() leaves a node that does not serve; regainQuorum() restores service', async () => {
      const leader = await cluster.leader();
      const victims = await cluster.dropQuorum();
      expect(victims).to.have.length(2);
      expect(victims).to.not.include(leader); // followers go first, and two are enough
      for (const id of victims) expect(cluster.isRunning(id)).to.equal(false);
      const survivor = [1, 2, 3].find((id) => !victims.includes(id))!;
      await eventually('the survivor stops serving', async () => (await cluster.srvr(survivor)).includes('not currently serving'));
      await cluster.regainQuorum();
      for (const id of [1, 2, 3]) expect(parseMode(await cluster.srvr(id))).to.be.oneOf(['leader', 'follower']);
      expect(await cluster.followers()).to.have.length(2);
    });
  });

  describe('teardown of a test process that dies', () => {
    const fixture = path.join(__dirname, 'harness', 'fixtures', 'start-and-wait.ts');

    function startFixture(): Promise<{ child: ChildProcess; info: { pid: number; pids: number[]; dir: string } }> {
      const child = spawnTracked(process.execPath, ['--require', 'tsx/cjs', fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
      return within(
        30000,
        'the fixture starts ZooKeeper',
        new Promise((resolve, reject) => {
          let out = '';
          let errOut = '';
          child.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            const nl = out.indexOf('\n');
            if (nl >= 0) resolve({ child, info: JSON.parse(out.slice(0, nl)) as { pid: number; pids: number[]; dir: string } });
          });
          child.stderr!.on('data', (d: Buffer) => (errOut += d.toString()));
          child.once('exit', (code) => reject(new Error(`fixture exited with ${code}: ${errOut}`)));
        }),
      );
    }

    it('SIGKILL of the process that started ZooKeeper: the reaper kills its JVMs and removes the temp dir', async () => {
      const { child, info } = await startFixture();
      expect(processAlive(info.pid)).to.equal(true);
      expect(info.pids).to.include(info.pid);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid!, 'SIGKILL');
      await exited;
      await eventually('the JVM is gone', () => !processAlive(info.pid), 5000);
      await eventually('the temp dir is gone', () => !fs.existsSync(info.dir), 5000);
    });

    it('SIGTERM of the process that started ZooKeeper: its exit hook kills the JVMs', async () => {
      const { child, info } = await startFixture();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      process.kill(child.pid!, 'SIGTERM');
      expect(await exited).to.equal(143);
      // The hook sends SIGKILL synchronously; the kernel may take a moment to finish the JVM off.
      await eventually('the JVM is gone', () => !processAlive(info.pid), 5000);
      expect(fs.existsSync(info.dir)).to.equal(false);
    });
  });

  describe('options', () => {
    it('rejects bad options with errors naming the option', async () => {
      for (const [opts, name] of [
        [{ nodes: 2 }, 'nodes'],
        [{ nodes: 0 }, 'nodes'],
        [{ tickTime: -1 }, 'tickTime'],
        [{ minSessionTimeout: 5000, maxSessionTimeout: 1000 }, 'maxSessionTimeout'],
        [{ backend: 'docker' }, 'backend'],
      ] as const) {
        const err = await startZooKeeper(opts as Parameters<typeof startZooKeeper>[0]).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, name).to.have.property('option', name);
      }
    });

    it('the external backend refuses fault operations with a clear error', async () => {
      const saved = process.env.ZK_CONNECT;
      process.env.ZK_CONNECT = '127.0.0.1:1,127.0.0.1:2/chroot';
      try {
        const cluster = await startZooKeeper();
        expect(cluster.connectString).to.equal('127.0.0.1:1,127.0.0.1:2');
        expect(cluster.nodes.map((n) => n.clientPort)).to.deep.equal([1, 2]);
        const err = await cluster.kill(1).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(HarnessError).with.property('code', 'NOT_SUPPORTED');
        expect((err as Error).message).to.include('not supported with ZK_CONNECT');
        expect(() => cluster.pause(1)).to.throw(/not supported with ZK_CONNECT/);
        await cluster.close();
      } finally {
        if (saved === undefined) delete process.env.ZK_CONNECT;
        else process.env.ZK_CONNECT = saved;
      }
    });

    it('the testcontainers backend explains that it needs Docker when none answers', async function () {
      const err = await startZooKeeper({ backend: 'testcontainers' }).then(
        (c) => c.close().then(() => undefined),
        (e: unknown) => e,
      );
      if (err === undefined) return; // a Docker engine answered here: the backend works
      expect(err).to.be.instanceOf(HarnessError).with.property('code', 'NO_DOCKER');
      expect((err as Error).message).to.include('needs a Docker engine');
    });

    it('ZK_HOME without a ZooKeeper says how to install one', async () => {
      const saved = process.env.ZK_HOME;
      process.env.ZK_HOME = '/nonexistent-zk-home';
      try {
        const err = await startZooKeeper({ backend: 'local' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(HarnessError).with.property('code', 'ZK_NOT_FOUND');
        expect((err as Error).message).to.include('apt-get install zookeeper libslf4j-java').and.include('npm run setup');
      } finally {
        if (saved === undefined) delete process.env.ZK_HOME;
        else process.env.ZK_HOME = saved;
      }
    });
  });
});
