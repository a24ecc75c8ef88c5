/**
 * `zk-ha dashboard` and the command line against what someone with write access to the service's
 * znodes can do (found by a red-team pass): a service the dashboard may not read, requests naming
 * another host (DNS rebinding), member records aiming the dashboard's probes elsewhere or trickling
 * answers, journal entries and isr keys built to break the output.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { acl, ZkSession } from '../lib/zk';
import { ensureService, servicePaths } from '../lib/coordination';
import { spawnTracked } from './harness';
import { CLI, runCli } from './support/cli';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot } from './support/wait';

const record = (id: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ id, url: 'ws://127.0.0.1:9001', weight: 1, pid: 1, host: 'h', startedAt: 1, version: '0.1.0', ...extra });

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

describe('zk-ha dashboard and command line against hostile ZooKeeper data (real ZooKeeper)', function () {
  this.timeout(120000);
  let connect: string;
  let session: ZkSession;
  const root = uniqueRoot('dash-hostile');
  let dashboard: ChildProcess | undefined;
  let url = '';
  // A member's "http" endpoint that answers by trickling, one byte every 300 ms, for ever.
  const trickle = { open: 0, maxOpen: 0, paths: [] as string[], sockets: new Set<Socket>() };
  let trickleServer: http.Server | undefined;

  before(async () => {
    connect = (await sharedZooKeeper()).connectString;
    session = new ZkSession({ connect, sessionTimeoutMs: 4000 });
    await session.start();
    trickleServer = http.createServer((req, res) => {
      trickle.paths.push(req.url ?? '');
      trickle.open++;
      trickle.maxOpen = Math.max(trickle.maxOpen, trickle.open);
      res.writeHead(200, { 'content-type': 'text/plain' });
      const t = setInterval(() => res.write('x'), 300);
      res.on('close', () => { clearInterval(t); trickle.open--; });
    });
    trickleServer.on('connection', (s) => { trickle.sockets.add(s); s.on('close', () => trickle.sockets.delete(s)); });
    await new Promise<void>((r) => trickleServer!.listen(0, '127.0.0.1', r));
    const trickled = `http://127.0.0.1:${(trickleServer.address() as AddressInfo).port}`;
    // "real": one member whose http trickles. "aaa" (sorted first): members/ no session here may read.
    const real = servicePaths('real', root);
    await ensureService(session, real, 'primary-backup');
    await session.create(`${real.members}/m-`, record('real-1', { http: trickled }), { mode: 'ephemeral-sequential' });
    await session.create(`${root}/aaa`, JSON.stringify({ mode: 'primary-backup', createdAt: 1, layout: 1 }));
    await session.create(`${root}/aaa/members`, undefined, { acl: [acl.digest('x', 'y', ['all'])] });
    // A journal entry nested 6 000 levels deep (written as text: JSON.stringify overflows on it).
    await session.mkdirp(real.faults);
    await session.create(`${real.faults}/f-`, `{"kind":"failover","service":"real","at":1,"detail":${'{"d":'.repeat(6000)}{}${'}'.repeat(6000)}}`, { mode: 'persistent-sequential' });
    await session.create(`${real.faults}/f-`, JSON.stringify({ kind: 'elected', service: 'real', at: 2, detail: { epoch: 1 } }), { mode: 'persistent-sequential' });
    // An in-sync set whose keys would forge lines and break JSON.
    await session.create(`${real.servicePath}/isr`, JSON.stringify({ epoch: 7, committedIndex: 42, members: ['good@1', 'evil@1\nreal: epoch 99 (FORCED by an operator)', 'del\u007f@1'] }));

    dashboard = spawnTracked(process.execPath, ['-r', 'tsx/cjs', CLI, '--connect', connect, '--root', root, '--json', 'dashboard', '--port', '0', '--allowed-host', 'dash.example'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = createInterface({ input: dashboard.stdout! });
    // It never got here: awaiting the unreadable service's view kept the port closed for ever.
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the dashboard did not listen within 20 s')), 20000);
      lines.on('line', (l) => {
        const m = /"url":"([^"]+)"/.exec(l);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
    });
  });

  after(async () => {
    if (dashboard && dashboard.exitCode === null) {
      dashboard.kill('SIGKILL');
      await new Promise((r) => dashboard!.once('exit', r));
    }
    for (const s of trickle.sockets) s.destroy();
    trickleServer?.close();
    await session?.close();
  });

  it('a service it may not read shows its error; the others are shown', async () => {
    await eventually('both services on the page', async () => {
      const state = JSON.parse((await get(`${url}state`)).body) as { services: { service: string; members: unknown[]; error: string | null }[] };
      const aaa = state.services.find((s) => s.service === 'aaa');
      const real = state.services.find((s) => s.service === 'real');
      return aaa?.error?.includes('NO_AUTH') === true && real?.members.length === 1;
    }, 20000);
  });

  it('answers only requests naming an address, localhost or an --allowed-host name (DNS rebinding)', async () => {
    const port = new URL(url).port;
    expect((await get(`${url}state`, { host: 'rebind.evil.example' })).status).to.equal(403);
    expect((await get(`${url}events`, { host: `rebind.evil.example:${port}` })).status).to.equal(403);
    expect((await get(`${url}state`, { host: `localhost:${port}`, origin: 'http://evil.example' })).status).to.equal(403);
    expect((await get(`${url}state`, { origin: 'null' })).status).to.equal(403);
    expect((await get(`${url}state`, { host: `localhost:${port}` })).status).to.equal(200);
    expect((await get(`${url}state`, { host: `dash.example:${port}`, origin: `http://dash.example:${port}` })).status).to.equal(200);
    expect((await get(`${url}state`)).status).to.equal(200);
  });

  it('probes a member one request at a time, each cut at its deadline, and only at <http>/primary and /metrics', async () => {
    await sleep(4000);
    // Before: one more open request every second, for ever (a new round did not wait for the last):
    // 4–5 open by now. One in flight, plus at most one whose abort the server has not yet seen.
    expect(trickle.maxOpen, JSON.stringify({ maxOpen: trickle.maxOpen, paths: trickle.paths })).to.be.at.most(2);
    expect(trickle.paths.length).to.be.within(1, 10);
    for (const p of trickle.paths) expect(p).to.be.oneOf(['/primary', '/metrics']);
  });

  it('stops at the first Ctrl-C', async () => {
    dashboard!.kill('SIGINT');
    await eventually('exited', () => dashboard!.exitCode !== null, 5000);
  });

  it('`faults --json`: an entry nested 6 000 levels deep is one rejected-input entry, the others are printed', async () => {
    const r = await runCli(['--connect', connect, '--root', root, '--json', 'faults', 'real']);
    expect(r.code, r.stderr).to.equal(0);
    const entries = JSON.parse(r.stdout) as { kind: string }[];
    expect(entries.map((e) => e.kind)).to.deep.equal(['elected', 'rejected-input']);
  });

  it('`isr show`: member keys cannot forge a line, and --json is valid JSON', async () => {
    const text = await runCli(['--connect', connect, '--root', root, 'isr', 'show', 'real']);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout.split('\n').filter((l) => l.includes('FORCED'))).to.deep.equal(['  evil@1\\nreal: epoch 99 (FORCED by an operator)']);
    const json = await runCli(['--connect', connect, '--root', root, '--json', 'isr', 'show', 'real']);
    expect(json.code, json.stderr).to.equal(0);
    expect((JSON.parse(json.stdout) as { members: string[] }).members).to.include('del\u007f@1');
  });

  it('`haproxy --server-options` with a keyword the bridge owns (port, addr, ...) is a usage error', async () => {
    const r = await runCli(['--connect', connect, '--root', root, 'haproxy', 'real', '--socket', '/nonexistent.sock', '--backend', 'b', '--server-options', 'inter 1000 port 9100']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/"port" is set by the bridge/);
  });
});
