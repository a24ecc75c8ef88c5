/**
 * The operators' HTTP endpoints of HaServer against real ZooKeeper: /healthz, /readyz, /primary,
 * /metrics on the RPC port, on a port of their own, or off; and across SIGKILL and SIGSTOP of the
 * primary (servers as processes), at most one member answers 200 on /primary in any sampling round,
 * and one does again after each fault.
 */
import { expect } from 'chai';
import http from 'node:http';
import { Registry } from 'prom-client';
import { HaMetrics, HaServer } from '../lib';
import { startServer } from './support/ha-fixtures';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot } from './support/wait';
import type { Worker } from './support/worker';

interface Answer { status: number; body: string; json: Record<string, unknown> | undefined }

function get(url: string, method = 'GET', timeoutMs = 2000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let json: Record<string, unknown> | undefined;
        try { json = JSON.parse(body) as Record<string, unknown>; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, body, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const httpOf = (w: Worker): string => String(w.of('started')[0]!.url).replace(/^ws/, 'http');

describe('HTTP surface of HaServer (real ZooKeeper)', function () {
  this.timeout(90000);
  let connect: string;
  const servers: HaServer[] = [];
  const workers: Worker[] = [];
  before(async () => { connect = (await sharedZooKeeper()).connectString; });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 0 })));
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  function server(root: string, id: string, extra: Partial<ConstructorParameters<typeof HaServer>[0]> = {}): HaServer {
    const s = new HaServer({ zk: { connect, sessionTimeoutMs: 2000 }, service: 'web', mode: 'primary-backup', root, id, handlers: { ok: () => 'ok' }, ...extra });
    servers.push(s);
    return s;
  }

  it('answers /healthz, /readyz, /primary and /metrics on the RPC port with JSON naming role, epoch, member and session', async () => {
    const root = uniqueRoot('http');
    const registry = new Registry();
    const metrics = new HaMetrics({ registry });
    const a = server(root, 'a', { metrics });
    const b = server(root, 'b');
    await a.start();
    await eventually('a is primary', () => a.isPrimary());
    await b.start();
    expect(a.httpUrl).to.equal(a.url!.replace(/^ws/, 'http'));

    const primary = await get(`${a.httpUrl}/primary`);
    expect(primary.status).to.equal(200);
    expect(primary.json).to.include({ service: 'web', mode: 'primary-backup', member: 'a', role: 'primary', primary: true, registered: true, epoch: a.epoch });
    expect(primary.json!.session).to.include({ state: 'connected' });
    const backup = await get(`${b.httpUrl}/primary`);
    expect(backup.status).to.equal(503);
    expect(backup.json).to.include({ member: 'b', role: 'backup', primary: false });
    for (const s of [a, b]) {
      expect((await get(`${s.httpUrl}/healthz`)).status).to.equal(200);
      expect((await get(`${s.httpUrl}/readyz`)).status).to.equal(200);
    }
    expect((await get(`${a.httpUrl}/primary`, 'HEAD')).status).to.equal(200);
    expect((await get(`${a.httpUrl}/primary`, 'POST')).status).to.equal(405);
    const unknown = await get(`${a.httpUrl}/nope`);
    expect(unknown.status).to.equal(404);
    expect(unknown.json!.endpoints).to.include('/primary');

    const scrape = await get(`${a.httpUrl}/metrics`);
    expect(scrape.status).to.equal(200);
    expect(scrape.body).to.include('# TYPE zkha_calls_total counter');
    expect(scrape.body).to.match(/^zkha_epoch\{service="web"\} \d+$/m);
    expect((await get(`${b.httpUrl}/metrics`)).status).to.equal(404); // b has no registry

    // The member record tells tools (the HAProxy bridge, the dashboard) where to look.
    await a.close();
    expect((await get(`${b.httpUrl}/healthz`)).status).to.equal(200);
    await eventually('b takes over', () => b.isPrimary());
    expect((await get(`${b.httpUrl}/primary`)).json).to.include({ role: 'primary', primary: true });
    const stopping = b.close();
    // While stopping, nothing claims to be primary or ready.
    const during = await get(`${b.httpUrl}/primary`).catch(() => undefined);
    if (during) expect(during.status).to.equal(503);
    await stopping;
  });

  it('moves to a port of its own with http: { port }, or turns off with http: false (426 as before)', async () => {
    const root = uniqueRoot('http');
    const own = server(root, 'own', { http: { port: 0 } });
    const off = server(root, 'off', { http: false });
    await own.start();
    await off.start();
    expect(own.httpUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(own.httpUrl).not.to.equal(own.url!.replace(/^ws/, 'http'));
    expect((await get(`${own.httpUrl}/healthz`)).status).to.equal(200);
    expect((await get(`${own.url!.replace(/^ws/, 'http')}/healthz`)).status).to.equal(426);
    expect(off.httpUrl).to.equal(undefined);
    expect((await get(`${off.url!.replace(/^ws/, 'http')}/healthz`)).status).to.equal(426);
    expect(() => server(root, 'x', { http: { port: -1 } })).to.throw(/http\.port/);
    expect(() => server(root, 'y', { http: 'yes' as unknown as false })).to.throw(/"http"/);
    const ownUrl = own.httpUrl!;
    await own.close();
    await get(`${ownUrl}/healthz`).then(() => expect.fail('the own listener is closed with the server'), () => undefined);
  });

  it('across SIGKILL and SIGSTOP of the primary, never two members answer 200 on /primary in one round, and one does again', async () => {
    const root = uniqueRoot('http');
    for (const id of ['s1', 's2', 's3']) {
      workers.push(await startServer({ connect, root, service: 'web', mode: 'primary-backup', id, sessionTimeoutMs: 2000, logRuns: false }));
    }
    const live = new Set(workers);
    const rounds: { at: number; primaries: { id: string; epoch: number }[] }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const answers = await Promise.all([...live].map(async (w) => {
          const a = await get(`${httpOf(w)}/primary`, 'GET', 500).catch(() => undefined);
          return a?.status === 200 ? { id: String(a.json!.member), epoch: Number(a.json!.epoch) } : undefined;
        }));
        rounds.push({ at: Date.now(), primaries: answers.filter((x): x is { id: string; epoch: number } => x !== undefined) });
        await sleep(10);
      }
    })();
    const current = async (): Promise<{ id: string; epoch: number }> => {
      let found: { id: string; epoch: number } | undefined;
      await eventually('one member answers 200 on /primary', () => {
        const last = rounds.at(-1);
        found = last?.primaries.length === 1 ? last.primaries[0] : undefined;
        return found !== undefined;
      }, 30000);
      return found!;
    };
    try {
      const first = await current();
      const byId = (id: string): Worker => workers.find((w) => w.of('started')[0]!.id === id)!;

      byId(first.id).signal('SIGKILL');
      live.delete(byId(first.id));
      await eventually('another member answers 200', async () => (await current()).id !== first.id, 30000);
      const second = await current();
      expect(second.epoch).to.be.greaterThan(first.epoch);

      const frozen = byId(second.id);
      frozen.signal('SIGSTOP');
      await eventually('the third member answers 200', async () => (await current()).id !== second.id, 30000);
      const third = await current();
      expect(third.epoch).to.be.greaterThan(second.epoch);
      frozen.signal('SIGCONT');
      await eventually('the thawed member answers 503 on /primary', async () => (await get(`${httpOf(frozen)}/primary`)).status === 503, 20000);
      await sleep(500);
    } finally {
      sampling = false;
      await sampler;
    }
    const doubles = rounds.filter((r) => r.primaries.length > 1);
    expect(doubles, JSON.stringify(doubles.slice(0, 3))).to.deep.equal([]);
    // Epochs seen answering 200 never go back.
    const epochs = rounds.flatMap((r) => r.primaries.map((p) => p.epoch));
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]).to.be.at.least(epochs[i - 1]!);
    expect(rounds.length).to.be.greaterThan(20);
  });
});
