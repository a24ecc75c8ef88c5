/**
 * The HAProxy bridge against a real HAProxy (Debian's package): `zk-ha haproxy` keeps the backend in
 * step with a primary/backup group; a plain ws client without ZooKeeper access calls through
 * HAProxy while an HaClient calls directly; the primary is SIGKILLed, then SIGSTOPped. No call runs
 * on a member that is not the primary (execution logs), and both clients reach the new primary.
 * The unavailability figures are measured by bench/haproxy.ts, not asserted here.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HaServer } from '../lib';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { checkRuns, HaproxyTestbed } from './support/haproxy-testbed';
import { findHaproxy, startHaproxy } from './support/haproxy';
import { eventually, uniqueRoot } from './support/wait';
import { HaproxyBridge } from '../bin/cli/haproxy/bridge';
import { MembershipView } from '../lib/coordination';
import type { Member, MembershipSnapshot } from '../lib/coordination';
import { ZkSession } from '../lib/zk';
import { WebSocket, WebSocketServer } from 'ws';

const CLI = path.join(__dirname, '..', 'bin', 'zk-ha.ts');

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('HAProxy bridge (real HAProxy, servers as processes)', function () {
  this.timeout(180000);
  let bed: HaproxyTestbed | undefined;
  before(() => { findHaproxy(); });
  after(async () => { await bed?.stop(); });

  it('routes only to the primary across SIGKILL and SIGSTOP; the plain client recovers through HAProxy', async () => {
    const { connectString } = await sharedZooKeeper();
    bed = new HaproxyTestbed(connectString, uniqueRoot('haproxy'), 2000);
    await bed.start();
    // The backend: the primary active, the two others backup, all managed by the bridge.
    const servers = (await bed.haproxy!.api.servers('hx')).filter((s) => s.name.startsWith('zkha-'));
    expect(servers.filter((s) => s.backup)).to.have.length(2);

    const kill = await bed.trial('sigkill');
    const freeze = await bed.trial('sigstop');
    await bed.settled();
    for (const t of [kill, freeze]) {
      expect(t.callsViaHaproxy, JSON.stringify(t)).to.be.greaterThan(0);
      expect(t.haproxyMs, JSON.stringify(t)).to.be.greaterThan(0);
    }
    const problems = checkRuns(bed.runs());
    expect(problems, problems.slice(0, 5).join('\n')).to.deep.equal([]);
    expect(bed.runs().length).to.be.greaterThan(50);
    expect(bed.bridgeLog.some((l) => l.includes('"remove"'))).to.equal(true);
    console.log(`      figures (not asserted): ${JSON.stringify([kill, freeze])}`);
  });

  it('--print-config renders a haproxy.cfg that HAProxy accepts; a wrong socket or backend is a one-line error', async () => {
    const { connectString } = await sharedZooKeeper();
    const root = uniqueRoot('haproxy-cfg');
    const server = new HaServer({ zk: { connect: connectString, sessionTimeoutMs: 2000 }, service: 'web', mode: 'redundant', root });
    await server.start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkha-cfg-'));
    try {
      const node = [process.execPath, '-r', 'tsx/cjs', CLI, '--connect', connectString, '--root', root];
      const printed = await run(node[0]!, [...node.slice(1), 'haproxy', 'web', '--socket', path.join(dir, 'admin.sock'), '--backend', 'web', '--print-config', '127.0.0.1:18080']);
      expect(printed.code, printed.stderr).to.equal(0);
      expect(printed.stdout).to.include('option httpchk GET /readyz'); // redundant mode
      fs.writeFileSync(path.join(dir, 'haproxy.cfg'), printed.stdout);
      const check = await run(findHaproxy(), ['-c', '-f', path.join(dir, 'haproxy.cfg')]);
      expect(check.code, check.stdout + check.stderr).to.equal(0);

      const noSocket = await run(node[0]!, [...node.slice(1), 'haproxy', 'web', '--socket', path.join(dir, 'nope.sock'), '--backend', 'web']);
      expect(noSocket.code).to.equal(1);
      expect(noSocket.stderr).to.match(/^zk-ha: .*stats socket/);
    } finally {
      await server.close({ graceMs: 0 });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('redundant mode: every member an active server with its weight, checked on /readyz; a member that leaves is removed', async () => {
    const { connectString } = await sharedZooKeeper();
    const root = uniqueRoot('haproxy-red');
    const haproxy = await startHaproxy({ backend: 'red', mode: 'redundant' });
    const servers = [1, 3].map((weight, i) => new HaServer({ zk: { connect: connectString, sessionTimeoutMs: 2000 }, service: 'red', mode: 'redundant', root, id: `r${i}`, weight }));
    const session = new ZkSession({ connect: connectString, sessionTimeoutMs: 4000 });
    const view = new MembershipView(session, 'red', { root });
    const bridge = new HaproxyBridge({ api: haproxy.api, backend: 'red', mode: 'redundant' });
    try {
      for (const s of servers) await s.start();
      await session.start();
      view.on('change', ({ snapshot }) => void bridge.sync(snapshot));
      await bridge.sync(await view.start());
      const managed = async () => (await haproxy.api.servers('red')).filter((x) => x.name.startsWith('zkha-') && !x.status.startsWith('MAINT'));
      await eventually('both members UP with their weights', async () => {
        const m = await managed();
        return m.length === 2 && m.every((x) => !x.backup && x.status.startsWith('UP')) && m.map((x) => x.weight).sort().join() === '1,3';
      }, 20000);
      await servers[1]!.close({ graceMs: 0 });
      await eventually('the member that left is gone from the backend', async () => (await managed()).length === 1, 20000);
      expect((await managed())[0]!.weight).to.equal(1);
    } finally {
      bridge.stop();
      view.stop();
      await session.close();
      for (const s of servers) await s.close({ graceMs: 0 });
      await haproxy.stop();
    }
  });

  it('bridge: a member HAProxy cannot take (a host name) is left out and said once, the others converge; a removed member\'s readiness poll stops', async () => {
    const haproxy = await startHaproxy({ backend: 'red', mode: 'redundant' });
    // The check URL of member A answers 503 for ever and counts the polls.
    let polls = 0;
    const check = http.createServer((_req, res) => { polls++; res.writeHead(503).end(); });
    await new Promise<void>((resolve) => check.listen(0, '127.0.0.1', resolve));
    const checkPort = (check.address() as AddressInfo).port;
    const member = (sequence: number, url: string): Member => ({
      name: `m-${String(sequence).padStart(10, '0')}`, path: `/x/m-${sequence}`, sequence, owner: '1',
      record: { id: `id${sequence}`, url, weight: 1, pid: 1, host: 'h', startedAt: 1, version: '0' },
    });
    const snapshot = (members: Member[]): MembershipSnapshot => ({ members, leader: members[0], primary: undefined, generation: 'g', version: 1 });
    const lines: string[] = [];
    const bridge = new HaproxyBridge({ api: haproxy.api, backend: 'red', mode: 'redundant', log: (l) => lines.push(`${l.action} ${l.server} ${l.detail ?? ''}`) });
    try {
      const named = member(1, 'ws://localhost:7001');
      const a = member(2, `ws://127.0.0.1:${checkPort}`);
      const b = member(3, 'ws://127.0.0.1:7003');
      for (let i = 0; i < 3; i++) await bridge.sync(snapshot([named, a, b]));
      const names = (await haproxy.api.servers('red')).filter((x) => x.name.startsWith('zkha-')).map((x) => x.name).sort();
      // Before: HAProxy stored the name as an empty address, every later sync failed on it, and no member after it was added.
      expect(names).to.deep.equal(['zkha-2', 'zkha-3']);
      expect(lines.filter((l) => l.startsWith('error zkha-1'))).to.have.length(1);
      await eventually('a is polled', () => polls > 0);
      await bridge.sync(snapshot([named, b]));
      await new Promise((r) => setTimeout(r, 1100));
      const after = polls;
      await new Promise((r) => setTimeout(r, 1500));
      // Before: polled every 25 ms for promoteWithinMs (60 s) after it left.
      expect(polls - after, 'polls of the removed member').to.be.at.most(1);
    } finally {
      bridge.stop();
      check.close();
      await haproxy.stop();
    }
  });

  it('bridge: a server that is not what its member needs is re-created — left in maintenance, another generation, HTTP on an address of its own; one address, two spellings, is left alone', async () => {
    const haproxy = await startHaproxy({ backend: 'pb', mode: 'primary-backup' });
    const answering: http.Server[] = [];
    const listen = async (host: string, status: number): Promise<number> => {
      const server = http.createServer((_req, res) => res.writeHead(status).end());
      answering.push(server);
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      return (server.address() as AddressInfo).port;
    };
    const member = (sequence: number, url: string, httpUrl?: string): Member => ({
      name: `m-${String(sequence).padStart(10, '0')}`, path: `/x/m-${sequence}`, sequence, owner: '1',
      record: { id: `id${sequence}`, url, weight: 1, pid: 1, host: 'h', startedAt: 1, version: '0', ...(httpUrl ? { http: httpUrl } : {}) },
    });
    const snapshot = (members: Member[], generation: string): MembershipSnapshot => ({ members, leader: members[0], primary: members[0], generation, version: 1 });
    const lines: string[] = [];
    const bridge = new HaproxyBridge({ api: haproxy.api, backend: 'pb', mode: 'primary-backup', log: (l) => lines.push(`${l.action} ${l.server} ${l.detail ?? ''}`) });
    const state = async () => {
      const checks = await haproxy.api.checkTargets('pb');
      return (await haproxy.api.servers('pb')).filter((x) => x.name.startsWith('zkha-'))
        .map((x) => ({ name: x.name, address: x.address, status: x.status, backup: x.backup, check: checks.get(x.name) }));
    };
    try {
      // Left in maintenance: the add's enabling line never arrived (a lost answer, a bridge restarted in between).
      const a = await listen('127.0.0.1', 200);
      await haproxy.api.expectOk(`add server pb/zkha-1 127.0.0.1:${a} check weight 1`);
      await bridge.sync(snapshot([member(1, `ws://127.0.0.1:${a}`)], 'g1'));
      await eventually('the primary UP', async () => (await state()).some((x) => x.name === 'zkha-1' && x.status === 'UP'), 20000);

      // Another generation numbers its members from the start again: zkha-1 now names member B,
      // whose HTTP endpoints are on a port and an address of their own.
      const b = await listen('127.0.0.1', 503); // B's RPC port: nothing there answers checks
      const bHttp = await listen('127.0.0.2', 200);
      lines.length = 0;
      await bridge.sync(snapshot([member(1, `ws://127.0.0.1:${b}`, `http://127.0.0.2:${bHttp}`)], 'g2'));
      let now = await state();
      expect(now.map((x) => [x.name, x.address, x.check])).to.deep.equal([['zkha-1', `127.0.0.1:${b}`, { addr: '127.0.0.2', port: bHttp }]]);
      expect(lines.filter((l) => l.startsWith('remove zkha-1') || l.startsWith('add zkha-1'))).to.have.length(2);
      // HAProxy checks where B's HTTP really is (it was the RPC address: DOWN for ever).
      await eventually('B UP by HAProxy\'s own check', async () => {
        await haproxy.api.expectOk('set server pb/zkha-1 health down'); // not the bridge's poll: HAProxy's check must bring it up
        await new Promise((r) => setTimeout(r, 300));
        return (await state())[0]!.status === 'UP';
      }, 20000);

      // One address, two spellings (a URL writes ::ffff:7f00:1, HAProxy ::ffff:127.0.0.1): nothing re-created.
      const c = await listen('::ffff:127.0.0.1', 200);
      const mapped = member(2, `ws://[::ffff:127.0.0.1]:${c}`);
      await bridge.sync(snapshot([member(1, `ws://127.0.0.1:${b}`, `http://127.0.0.2:${bHttp}`), mapped], 'g2'));
      lines.length = 0;
      for (let i = 0; i < 3; i++) await bridge.sync(snapshot([member(1, `ws://127.0.0.1:${b}`, `http://127.0.0.2:${bHttp}`), mapped], 'g2'));
      expect(lines).to.deep.equal([]);
      now = await state();
      expect(now.map((x) => x.name)).to.deep.equal(['zkha-1', 'zkha-2']);
    } finally {
      bridge.stop();
      for (const server of answering) server.close();
      await haproxy.stop();
    }
  });

  it('an admin socket below "level admin": `zk-ha haproxy` says so and exits 2; the bridge reports every refusal instead of logging adds', async () => {
    const { connectString } = await sharedZooKeeper();
    const root = uniqueRoot('haproxy-level');
    const haproxy = await startHaproxy({ backend: 'web', mode: 'redundant', socketLevel: 'operator' });
    const server = new HaServer({ zk: { connect: connectString, sessionTimeoutMs: 2000 }, service: 'web', mode: 'redundant', root });
    try {
      await server.start();
      const cli = await run(process.execPath, ['-r', 'tsx/cjs', CLI, '--connect', connectString, '--root', root, 'haproxy', 'web', '--socket', haproxy.socket, '--backend', 'web']);
      expect(cli.code, cli.stderr).to.equal(2);
      expect(cli.stderr).to.match(/^zk-ha: .*level admin/m);
      const lines: string[] = [];
      const bridge = new HaproxyBridge({ api: haproxy.api, backend: 'web', mode: 'redundant', log: (l) => lines.push(`${l.action} ${l.server} ${l.detail ?? ''}`) });
      const member: Member = { name: 'm-0000000001', path: '/x/m-1', sequence: 1, owner: '1', record: { id: 'a', url: 'ws://127.0.0.1:7001', weight: 1, pid: 1, host: 'h', startedAt: 1, version: '0' } };
      for (let i = 0; i < 3; i++) await bridge.sync({ members: [member], leader: member, primary: undefined, generation: 'g', version: 1 });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^error zkha-1 .*Permission denied/);
    } finally {
      await server.close({ graceMs: 0 });
      await haproxy.stop();
    }
  });

  it('bridge: new servers start DOWN; a backup that became the primary and already serves a client keeps its sessions, said once; re-created active once idle', async () => {
    const haproxy = await startHaproxy({ backend: 'pb', mode: 'primary-backup' });
    // Member b: /primary answers 200; clients open WebSockets (long-lived sessions through HAProxy).
    const b = http.createServer((_req, res) => res.writeHead(200).end('primary'));
    const wss = new WebSocketServer({ server: b });
    const held: WebSocket[] = [];
    wss.on('connection', (ws) => held.push(ws));
    await new Promise<void>((resolve) => b.listen(0, '127.0.0.1', resolve));
    const bPort = (b.address() as AddressInfo).port;
    const old = http.createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    const oldPort = (old.address() as AddressInfo).port;
    const member = (sequence: number, url: string): Member => ({
      name: `m-${String(sequence).padStart(10, '0')}`, path: `/x/m-${sequence}`, sequence, owner: '1',
      record: { id: `id${sequence}`, url, weight: 1, pid: 1, host: 'h', startedAt: 1, version: '0' },
    });
    const snapshot = (members: Member[]): MembershipSnapshot => ({ members, leader: members[0], primary: members[0], generation: 'g', version: 1 });
    const lines: string[] = [];
    const bridge = new HaproxyBridge({ api: haproxy.api, backend: 'pb', mode: 'primary-backup', log: (l) => lines.push(`${l.action} ${l.server} ${l.detail ?? ''}`) });
    const managed = async () => (await haproxy.api.servers('pb')).filter((x) => x.name.startsWith('zkha-') && !x.status.startsWith('MAINT'));
    let through: WebSocket | undefined;
    try {
      const a = member(1, `ws://127.0.0.1:${oldPort}`); // the old primary, demoted: its check fails
      const m2 = member(2, `ws://127.0.0.1:${bPort}`);
      await bridge.sync(snapshot([a, m2]));
      // Both start DOWN (never routable before a check passes; they were "UP 1/2" before): b's check
      // passes, the old primary's never, so b serves as a backup (no active server is up).
      // (b may already be UP by its first check, never "UP 1/2": up without one.)
      const first = await managed();
      expect(first.find((x) => x.name === 'zkha-1')!.status).to.equal('DOWN');
      expect(first.find((x) => x.name === 'zkha-2')!.status).to.be.oneOf(['DOWN', 'UP']);
      await eventually('b UP as a backup', async () => (await managed()).some((x) => x.name === 'zkha-2' && x.status === 'UP'), 20000);
      expect((await managed()).find((x) => x.name === 'zkha-1')!.status).to.equal('DOWN');
      through = new WebSocket(haproxy.url);
      through.on('error', () => undefined);
      await eventually('the client is served by the backup', () => held.length === 1, 20000);
      await bridge.sync(snapshot([m2]));
      await bridge.sync(snapshot([m2]));
      let servers = await managed();
      expect(servers.map((x) => [x.name, x.backup])).to.deep.equal([['zkha-2', true]]);
      expect(servers[0]!.sessions).to.equal(1);
      expect(lines.filter((l) => l.startsWith('promote zkha-2 deferred'))).to.have.length(1);
      // The session ends: the next sync re-creates it as the active server, and it comes up.
      held[0]!.close();
      await eventually('the backup is idle', async () => (await managed())[0]!.sessions === 0, 20000);
      await bridge.sync(snapshot([m2]));
      await eventually('zkha-2 active and UP', async () => {
        servers = await managed();
        return servers.length === 1 && !servers[0]!.backup && servers[0]!.status.startsWith('UP');
      }, 20000);
      expect(lines).to.include('promote zkha-2 active');
    } finally {
      through?.terminate();
      bridge.stop();
      for (const ws of held) ws.terminate();
      wss.close();
      b.close();
      old.close();
      await haproxy.stop();
    }
  });
});
