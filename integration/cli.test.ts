/**
 * The `zk-ha` command line run as a child process against a real ZooKeeper, on services
 * registered with Membership in this process.
 */
import { expect } from 'chai';
import { createInterface } from 'readline';
import { freePort, spawnTracked, type ZkCluster } from './harness';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { CLI, oneLine, runCli, type CliResult } from './support/cli';
import { eventually, uniqueRoot, within } from './support/wait';
import { acl, ZkSession } from '../lib/zk';
import { faultJournalSink, Membership, servicePaths } from '../lib/coordination';
import type { ServiceMode } from '../lib/coordination';
import { FaultReporter } from '../lib/ops/fault-reporter';

describe('zk-ha command line (real ZooKeeper)', function () {
  this.timeout(90000);
  let zk: ZkCluster;
  let root: string;
  const sessions: ZkSession[] = [];
  const orders: Membership[] = [];

  const session = async (auth?: string): Promise<ZkSession> => {
    const s = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000, auth: auth ? [{ scheme: 'digest', credentials: auth }] : [] });
    sessions.push(s);
    await s.start();
    return s;
  };
  const register = async (service: string, mode: ServiceMode, id: string, extra: Partial<{ zone: string; weight: number }> = {}): Promise<Membership> => {
    const m = new Membership(await session(), { service, mode, root, record: { id, url: `ws://127.0.0.1:${7000 + orders.length}`, ...extra } });
    await m.register();
    return m;
  };
  const cli = (...args: string[]): Promise<CliResult> => runCli(['--connect', zk.connectString, '--root', root, ...args]);

  before(async () => {
    zk = await sharedZooKeeper();
    root = uniqueRoot('cli');
    orders.push(await register('orders', 'primary-backup', 'orders-a', { zone: 'eu-1', weight: 2 }));
    orders.push(await register('orders', 'primary-backup', 'orders-b', { zone: 'eu-2' }));
    orders.push(await register('orders', 'primary-backup', 'orders-c'));
    await register('search', 'redundant', 'search-a');
    const reporter = new FaultReporter({ service: 'orders', member: 'orders-a', journal: faultJournalSink({ session: sessions[0]!, paths: servicePaths('orders', root) }) });
    reporter.report('elected', { detail: { epoch: orders[0]!.node!.sequence } });
    reporter.report('session-lost', { member: 'orders-b', detail: { reason: 'expired' } });
    reporter.report('failover', { durationMs: 1234, detail: { epoch: 7 } });
    await reporter.flush();
  });
  after(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });

  describe('status, members, elect, faults, services', () => {
    it('status prints the mode, the members in election order and the primary with its epoch', async () => {
      const r = await cli('status', 'orders');
      expect(r.code, r.stderr).to.equal(0);
      const epoch = orders[0]!.node!.sequence;
      expect(r.stdout).to.match(/mode:\s+primary-backup/);
      expect(r.stdout).to.match(new RegExp(`primary:\\s+orders-a ws://\\S+ \\(epoch ${epoch}\\)`));
      expect(r.stdout).to.match(/members:\s+3/);
      const rows = r.stdout.split('\n').filter((l) => /^\d+\s+orders-/.test(l));
      expect(rows.map((l) => l.split(/\s+/)[1])).to.deep.equal(['orders-a', 'orders-b', 'orders-c']);
      expect(rows[0]).to.include('eu-1').and.include(`0x${sessions[0]!.sessionId}`).and.include(String(process.pid));
      expect(r.stderr).to.equal('');
    });

    it('status --json is one document with members, primary, epoch and owner sessions', async () => {
      const r = await cli('--json', 'status', 'orders');
      expect(r.code, r.stderr).to.equal(0);
      const doc = JSON.parse(r.stdout) as {
        service: string; mode: string; epoch: number; primary: { id: string; sequence: number };
        members: { id: string; sequence: number; owner: string; zone: string | null; weight: number; pid: number; host: string; url: string }[];
      };
      expect(doc.service).to.equal('orders');
      expect(doc.mode).to.equal('primary-backup');
      expect(doc.members.map((m) => m.id)).to.deep.equal(['orders-a', 'orders-b', 'orders-c']);
      expect(doc.members.map((m) => m.sequence)).to.deep.equal(orders.map((m) => m.node!.sequence));
      expect(doc.members.map((m) => m.owner)).to.deep.equal(sessions.slice(0, 3).map((s) => s.sessionId));
      expect(doc.members[0]).to.include({ zone: 'eu-1', weight: 2, pid: process.pid });
      expect(doc.members[2]!.zone).to.equal(null);
      expect(doc.primary.id).to.equal('orders-a');
      expect(doc.epoch).to.equal(orders[0]!.node!.sequence);
    });

    it('members lists the members only (text table, JSON array)', async () => {
      const text = await cli('members', 'orders');
      expect(text.code, text.stderr).to.equal(0);
      const lines = text.stdout.trim().split('\n');
      expect(lines[0]).to.match(/^SEQ\s+ID\s+URL\s+WEIGHT\s+ZONE\s+HOST\s+PID\s+SESSION$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).to.deep.equal(['orders-a', 'orders-b', 'orders-c']);
      const json = await cli('members', 'orders', '--json');
      const members = JSON.parse(json.stdout) as { id: string }[];
      expect(members.map((m) => m.id)).to.deep.equal(['orders-a', 'orders-b', 'orders-c']);
    });

    it('elect names the primary and its epoch; exit code 3 when there is none', async () => {
      const epoch = orders[0]!.node!.sequence;
      const text = await cli('elect', 'orders');
      expect(text.code).to.equal(0);
      expect(text.stdout.trim()).to.match(new RegExp(`^primary: orders-a ws://\\S+ \\(epoch ${epoch}\\)$`));
      const json = await cli('elect', 'orders', '--json');
      expect(JSON.parse(json.stdout)).to.deep.include({ service: 'orders', mode: 'primary-backup', epoch });

      const redundant = await cli('elect', 'search');
      expect(redundant.code).to.equal(3);
      expect(oneLine(redundant)).to.match(/^zk-ha: no primary for "search": none \(redundant mode/);

      const lone = await register('empty', 'primary-backup', 'gone-soon');
      await lone.leave();
      const empty = await cli('elect', 'empty', '--json');
      expect(empty.code).to.equal(3);
      expect(JSON.parse(empty.stdout)).to.deep.equal({ service: 'empty', mode: 'primary-backup', primary: null, epoch: null });
      expect(oneLine(empty)).to.equal('zk-ha: no primary for "empty": none (no members)');
    });

    it('faults prints the journal newest first; --limit bounds it', async () => {
      const text = await cli('faults', 'orders');
      expect(text.code, text.stderr).to.equal(0);
      const kinds = text.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1]);
      expect(kinds).to.deep.equal(['failover', 'session-lost', 'elected']);
      expect(text.stdout).to.match(/failover\s+orders-a\s+1234 ms\s+\{"epoch":7\}/);
      const json = await cli('faults', 'orders', '--limit', '2', '--json');
      const reports = JSON.parse(json.stdout) as { kind: string; member: string; durationMs?: number }[];
      expect(reports.map((r) => r.kind)).to.deep.equal(['failover', 'session-lost']);
      expect(reports[1]!.member).to.equal('orders-b');
      const none = await cli('faults', 'search');
      expect(none.stdout.trim()).to.equal('(no faults recorded)');
    });

    it('services lists every service with its mode and member count', async () => {
      const json = await cli('services', '--json');
      expect(json.code, json.stderr).to.equal(0);
      const rows = JSON.parse(json.stdout) as { service: string; mode: string; members: number }[];
      expect(rows.find((r) => r.service === 'orders')).to.deep.equal({ service: 'orders', mode: 'primary-backup', members: 3 });
      expect(rows.find((r) => r.service === 'search')).to.deep.equal({ service: 'search', mode: 'redundant', members: 1 });
      const text = await cli('services');
      expect(text.stdout).to.match(/^SERVICE\s+MODE\s+MEMBERS$/m).and.match(/^orders\s+primary-backup\s+3$/m);
    });

    it('takes the connect string from ZK_CONNECT when --connect is not given', async () => {
      const r = await runCli(['--root', root, 'elect', 'orders'], { ZK_CONNECT: zk.connectString });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^primary: orders-a/);
    });
  });

  describe('watch', () => {
    it('--json prints a snapshot, then a join, a leave and the leader change, and exits 0 on SIGINT', async () => {
      const child = spawnTracked(process.execPath, ['-r', 'tsx/cjs', CLI, '--connect', zk.connectString, '--root', root, '--json', 'watch', 'orders'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: { event: string; member?: { id: string } | null; epoch?: number | null; members?: { id: string }[] }[] = [];
      let stderr = '';
      createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as (typeof lines)[number]));
      child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await eventually('snapshot line', () => lines.some((l) => l.event === 'snapshot'), 20000);
        expect(lines[0]!.members!.map((m) => m.id)).to.deep.equal(['orders-a', 'orders-b', 'orders-c']);

        const joiner = await register('orders', 'primary-backup', 'orders-d');
        await eventually('joined line', () => lines.some((l) => l.event === 'joined' && l.member?.id === 'orders-d'));
        await joiner.leave();
        await eventually('left line', () => lines.some((l) => l.event === 'left' && l.member?.id === 'orders-d'));

        // The primary leaves: the next in line leads, with its own (higher) sequence as epoch.
        const next = orders[1]!.node!.sequence;
        await orders[0]!.leave();
        await eventually('leader line', () => lines.some((l) => l.event === 'leader' && l.member?.id === 'orders-b'));
        expect(lines.find((l) => l.event === 'leader')!.epoch).to.equal(next);

        child.kill('SIGINT');
        expect(await within(10000, 'watch exits after SIGINT', exited)).to.equal(0);
        expect(stderr).to.equal('');
      } finally {
        child.kill('SIGKILL');
      }
    });
  });

  describe('watch (text)', () => {
    it('prints the state and a line per change, and exits 0 on SIGTERM', async () => {
      const child = spawnTracked(process.execPath, ['-r', 'tsx/cjs', CLI, '--connect', zk.connectString, '--root', root, 'watch', 'search'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await eventually('watching line', () => stdout.includes(`watching ${root}/search (Ctrl-C to stop)`), 20000);
        expect(stdout).to.match(/mode:\s+redundant/).and.match(/primary:\s+none \(redundant mode/);
        const joiner = await register('search', 'redundant', 'search-b', { zone: 'eu-3' });
        await eventually('joined line', () => /Z {2}joined {3}search-b ws:\/\/\S+ seq=\d+ zone=eu-3 /.test(stdout));
        await joiner.leave();
        await eventually('left line', () => /Z {2}left {5}search-b /.test(stdout));
        expect(stdout).not.to.include('leader'); // redundant mode has no primary to announce
        child.kill('SIGTERM');
        expect(await within(10000, 'watch exits after SIGTERM', exited)).to.equal(0);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });

  describe('errors: one line on stderr, non-zero exit, nothing on stdout', () => {
    it('an unreachable ZooKeeper', async () => {
      const port = await freePort();
      const r = await runCli(['--connect', `127.0.0.1:${port}`, '--timeout', '1000', 'status', 'orders']);
      expect(r.code).to.equal(1);
      expect(oneLine(r)).to.equal(`zk-ha: cannot reach ZooKeeper at 127.0.0.1:${port} within 1000 ms`);
      expect(r.stdout).to.equal('');
    });

    it('a malformed connect string names the option (from the flag or from ZK_CONNECT)', async () => {
      const flag = await runCli(['--connect', 'localhost', 'status', 'orders']);
      expect(flag.code).to.equal(2);
      expect(oneLine(flag)).to.match(/^zk-ha: invalid --connect: "localhost" is not host:port/);
      const env = await runCli(['status', 'orders'], { ZK_CONNECT: 'a:1,b' });
      expect(env.code).to.equal(2);
      expect(oneLine(env)).to.match(/^zk-ha: invalid --connect \(from ZK_CONNECT\): "b" is not host:port/);
    });

    it('a missing service', async () => {
      for (const command of ['status', 'members', 'elect', 'faults', 'watch']) {
        const r = await cli(command, 'nope');
        expect(r.code, command).to.equal(1);
        expect(oneLine(r)).to.equal(`zk-ha: no service "nope" under ${root}`);
        expect(r.stdout).to.equal('');
      }
    });

    it('a protected service without --auth: permission denied; with it: the status', async () => {
      const owner = await session('ops:s3cret');
      const locked = new Membership(owner, {
        service: 'locked', mode: 'primary-backup', root, record: { id: 'locked-a', url: 'ws://127.0.0.1:7900' },
        acl: [acl.digest('ops', 's3cret', ['all'])],
      });
      await locked.register();
      const denied = await cli('status', 'locked');
      expect(denied.code).to.equal(1);
      expect(oneLine(denied)).to.match(/^zk-ha: permission denied on \S+: pass --auth user:password$/);
      const wrong = await cli('--auth', 'ops:wrong', 'status', 'locked');
      expect(wrong.code).to.equal(1);
      expect(oneLine(wrong)).to.match(/the --auth credentials are not allowed/);
      const allowed = await cli('--auth', 'ops:s3cret', '--json', 'status', 'locked');
      expect(allowed.code, allowed.stderr).to.equal(0);
      expect((JSON.parse(allowed.stdout) as { primary: { id: string } }).primary.id).to.equal('locked-a');
    });

    it('services lists past a service whose ACL denies us (it is marked, the others are shown)', async () => {
      // 'locked' was registered by the previous test with a digest ACL.
      const text = await cli('services');
      expect(text.code, text.stderr).to.equal(0);
      expect(text.stdout).to.match(/^locked\s+\?\s+unreadable \(NO_AUTH: pass --auth user:password\)$/m);
      const json = await cli('services', '--json');
      const rows = JSON.parse(json.stdout) as { service: string; members: number | null; error?: string }[];
      expect(rows.find((r) => r.service === 'locked')).to.include({ members: null });
      expect(rows.length, 'the other services are listed too').to.be.above(1);
    });

    it('bad option values are usage errors (exit 2)', async () => {
      for (const args of [['--timeout', 'soon', 'status', 'x'], ['--auth', 'nopassword', 'status', 'x'], ['--root', 'relative', 'status', 'x'], ['status', 'a/b'], ['faults', 'x', '--limit', '0'], ['--nope', 'status', 'x']]) {
        const r = await cli(...args);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(oneLine(r), args.join(' ')).to.match(/^zk-ha: /);
      }
    });
  });
});
