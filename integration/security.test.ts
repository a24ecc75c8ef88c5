/**
 * Security end to end through HaServer/HaClient (issue 7 §3): digest ACLs on the service subtree,
 * TLS and the authentication hook of the transport, and the transport's limits under a flood.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import { acl, HaClient, HaServer } from '../lib';
import { RpcConnection, servicePaths, ZkSession } from '../lib/blocks';
import type { HaClientOptions, HaServerOptions, RpcError } from '../lib';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot, within } from './support/wait';

const CREDENTIALS = { scheme: 'digest', credentials: 'svc:s3cret' };
const SERVICE_ACL = [acl.digest('svc', 's3cret', ['all']), ...acl.worldRead()];

async function rejection(p: Promise<unknown>): Promise<{ code?: string; message?: string; notExecuted?: boolean }> {
  return p.then(() => ({ code: 'RESOLVED' }), (e: { code?: string; message?: string; notExecuted?: boolean }) => e);
}

describe('security (real ZooKeeper, HaServer + HaClient)', function () {
  this.timeout(60000);
  let connect: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => { connect = (await sharedZooKeeper()).connectString; });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function server(opts: Partial<HaServerOptions> & Pick<HaServerOptions, 'root'>): Promise<HaServer> {
    const s = new HaServer({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'sec', mode: 'primary-backup', handlers: { echo: (p) => p }, ...opts });
    cleanups.push(() => s.close({ graceMs: 0 }));
    await s.start();
    return s;
  }

  async function client(root: string, opts: Partial<HaClientOptions> = {}): Promise<HaClient> {
    const c = new HaClient({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'sec', root, deadlineMs: 3000, ...opts,
      connection: { heartbeatMs: 200, heartbeatTimeoutMs: 600, reconnect: { initialMs: 20, maxMs: 200 }, ...opts.connection } });
    cleanups.push(() => c.close());
    await c.start();
    return c;
  }

  async function session(auth: ZkSession['options']['auth'] = []): Promise<ZkSession> {
    const s = new ZkSession({ connect, sessionTimeoutMs: 4000, auth });
    cleanups.push(() => s.close());
    await s.start();
    return s;
  }

  describe('digest ACLs on the service subtree', () => {
    it('credentialed servers register; a session without the credentials reads but gets NO_AUTH on create/set/delete', async () => {
      const root = uniqueRoot('acl');
      const paths = servicePaths('sec', root);
      const s1 = await server({ root, id: 's1', zk: { connect, sessionTimeoutMs: 4000, auth: [CREDENTIALS] }, acl: SERVICE_ACL });
      const s2 = await server({ root, id: 's2', zk: { connect, sessionTimeoutMs: 4000, auth: [CREDENTIALS] }, acl: SERVICE_ACL });
      await eventually('s1 primary', () => s1.role === 'primary');
      expect(s2.role).to.equal('backup');

      const stranger = await session();
      const { children } = await stranger.children(paths.members);
      expect(children).to.have.length(2);
      const own = `${paths.members}/${children.sort()[0]!}`;
      expect(JSON.parse((await stranger.get(own)).data.toString()).id).to.equal('s1');
      expect((await stranger.getAcl(own)).acl.map((a) => a.scheme).sort()).to.deep.equal(['digest', 'world']);
      const attempts: [string, () => Promise<unknown>][] = [
        ['register a member', () => stranger.create(`${paths.members}/m-`, '{"id":"rogue","url":"ws://127.0.0.1:1"}', { mode: 'ephemeral-sequential' })],
        ['overwrite a member record', () => stranger.set(own, '{"id":"rogue","url":"ws://127.0.0.1:1"}')],
        ['delete a member', () => stranger.delete(own)],
        ['rewrite the service node', () => stranger.set(paths.servicePath, '{"mode":"redundant"}')],
        ['write the fault journal', () => stranger.create(`${paths.faults}/f-`, 'x', { mode: 'persistent-sequential' })],
        ['delete the members node', () => stranger.delete(paths.members)],
      ];
      for (const [what, attempt] of attempts) {
        const e = await rejection(attempt());
        expect(e.code, what).to.equal('NO_AUTH');
      }
      // A server without the credentials cannot join the protected group.
      const intruder = new HaServer({ zk: { connect, sessionTimeoutMs: 4000 }, service: 'sec', mode: 'primary-backup', root, id: 'intruder', acl: SERVICE_ACL });
      cleanups.push(() => intruder.close({ graceMs: 0 }));
      const e = await within(20000, 'intruder start', rejection(intruder.start()));
      expect(e.code).to.equal('NO_AUTH');
      expect((await stranger.children(paths.members)).children).to.have.length(2);

      // Credentialed members may update and delete: s1 leaves, s2 takes over; a client without credentials still follows.
      const c = await client(root);
      expect((await c.callWithInfo('echo', 'x')).member).to.equal('s1');
      await s1.close({ graceMs: 0 });
      await eventually('s2 primary', () => s2.role === 'primary');
      expect((await c.callWithInfo('echo', 'y')).member).to.equal('s2');
      expect((await stranger.children(paths.members)).children).to.have.length(1);
    });
  });

  describe('TLS and the authentication hook', () => {
    let dir: string;
    let pem: { key: Buffer; cert: Buffer };
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkha-sec-'));
      const key = path.join(dir, 'key.pem');
      const cert = path.join(dir, 'cert.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      pem = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('wss with a bearer token works end to end; a wrong token gets UNAUTHENTICATED; an untrusted cert never connects', async () => {
      const root = uniqueRoot('tls');
      const tokens: (string | undefined)[] = [];
      const s = await server({
        root, id: 'tls1',
        handlers: { whoami: (_p, ctx) => ({ identity: ctx.peer.identity, epoch: ctx.epoch }) },
        transport: {
          tls: { key: pem.key, cert: pem.cert },
          authenticate: ({ token }) => { tokens.push(token); return token === 'good-token' ? { user: 'svc-client' } : false; },
        },
      });
      expect(s.url).to.match(/^wss:\/\/127\.0\.0\.1:\d+$/);
      await eventually('primary', () => s.role === 'primary');

      const good = await client(root, { connection: { tls: { ca: pem.cert }, token: 'good-token' } });
      const r = await good.callWithInfo<{ identity: unknown; epoch: number }>('whoami');
      expect(r.result.identity).to.deep.equal({ user: 'svc-client' });
      expect(r.epoch).to.equal(s.epoch).and.to.equal(r.result.epoch);

      const wrong = await client(root, { deadlineMs: 1500, connection: { tls: { ca: pem.cert }, token: 'bad-token' } });
      const e = await within(10000, 'call with a wrong token', rejection(wrong.call('whoami')));
      expect(e.code, e.message).to.equal('UNAUTHENTICATED');
      expect(e.notExecuted).to.equal(true);
      expect(tokens).to.include('bad-token');

      const untrusting = await client(root, { deadlineMs: 1500, connection: { token: 'good-token' } });
      const u = await within(10000, 'call without the CA', rejection(untrusting.call('whoami')));
      expect(u.code).to.not.equal('RESOLVED');
      expect(u.notExecuted).to.equal(true);
    });
  });

  describe('limits under a flood', () => {
    it('maxFrameBytes fails only the big call; maxInFlight and maxConnections hold; a flood on one connection does not starve another client', async () => {
      const root = uniqueRoot('limits');
      let running = 0;
      let maxRunning = 0;
      const s = await server({
        root, id: 'lim1',
        handlers: {
          echo: (p) => p,
          slow: async () => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            try { await sleep(20); } finally { running--; }
            return 'done';
          },
        },
        transport: { maxFrameBytes: 64 * 1024, maxInFlight: 8, maxInFlightPerConnection: 4, maxConnections: 3, heartbeatMs: 200, heartbeatTimeoutMs: 600 },
      });
      await eventually('primary', () => s.role === 'primary');
      const c = await client(root);

      // An oversize request fails alone; the same connection keeps serving.
      const big = await rejection(c.call('echo', 'x'.repeat(100 * 1024)));
      expect(big.code).to.equal('PAYLOAD_TOO_LARGE');
      expect(await c.call('echo', 'small')).to.equal('small');

      // A flood: one connection fires 400 slow calls at once, again and again.
      const flood = new RpcConnection({ url: s.url!, reconnect: false });
      cleanups.push(() => flood.close());
      await flood.connect();
      const outcomes: Record<string, number> = {};
      let flooding = true;
      const floodLoop = (async () => {
        while (flooding) {
          const batch = Array.from({ length: 400 }, () => flood.call('slow', null, { timeoutMs: 5000 }).then(() => 'OK', (e: RpcError) => e.code));
          for (const o of await Promise.all(batch)) outcomes[o] = (outcomes[o] ?? 0) + 1;
        }
      })();
      // Meanwhile the other client's calls keep succeeding, one after another.
      const results: string[] = [];
      for (let i = 0; i < 50; i++) results.push(await c.call<string>('slow', null, { deadlineMs: 3000 }).catch((e: RpcError) => e.code));
      flooding = false;
      await floodLoop;
      expect(results.filter((x) => x !== 'done'), 'calls of the other client that failed').to.deep.equal([]);
      expect(outcomes.OVERLOADED ?? 0, JSON.stringify(outcomes)).to.be.greaterThan(0);
      expect(outcomes.OK ?? 0).to.be.greaterThan(0);
      expect(maxRunning, 'handlers running at once').to.be.at.most(8);

      // maxConnections = 3: the client and the flood hold two; one more fits, the next is refused.
      const third = new RpcConnection({ url: s.url!, reconnect: false });
      cleanups.push(() => third.close());
      await third.connect();
      const fourth = new RpcConnection({ url: s.url!, reconnect: false });
      cleanups.push(() => fourth.close());
      const refused = await rejection(fourth.connect());
      expect(refused.code).to.equal('UNAVAILABLE');
      expect(refused.message).to.match(/maxConnections/);
      expect(await c.call('echo', 'still here')).to.equal('still here');
    });
  });
});
