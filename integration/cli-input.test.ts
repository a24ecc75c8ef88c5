/**
 * The command line against hostile or awkward input: data in ZooKeeper written by someone else
 * (control characters, escape sequences, forged rows), a connect string whose first server never
 * answers, and absurd option values.
 */
import { expect } from 'chai';
import * as net from 'net';
import { ZkSession } from '../lib/zk';
import { Membership, servicePaths } from '../lib/coordination';
import { oneLine, runCli } from './support/cli';
import { sharedZooKeeper, uniqueRoot } from './support';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const EVIL = 'evil\x1b[2J\x1b]0;pwned\x07\r\n7  FORGED  ws://forged:1\u009b31m\u202e';

/** A TCP server that accepts connections and never says a word (a frozen ZooKeeper). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => { sockets.add(s); s.on('error', () => undefined); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

describe('zk-ha command line with hostile input (real ZooKeeper)', function () {
  this.timeout(120000);
  let connect: string;
  before(async () => { connect = (await sharedZooKeeper()).connectString; });

  describe('data written by someone else is printed escaped', () => {
    const root = uniqueRoot('cli-evil');
    const paths = servicePaths('evil', root);
    let session: ZkSession;
    let member: Membership;
    before(async () => {
      session = new ZkSession({ connect, sessionTimeoutMs: 4000 });
      await session.start();
      member = new Membership(session, { service: 'evil', mode: 'primary-backup', root, record: { id: EVIL, url: 'ws://127.0.0.1:7001', zone: EVIL, host: EVIL } });
      await member.register();
      await session.mkdirp(paths.faults);
      const entry = { kind: `elected${EVIL}`, service: 'evil', member: EVIL, at: Date.now(), detail: { url: EVIL } };
      await session.create(`${paths.faults}/f-`, JSON.stringify(entry), { mode: 'persistent-sequential' });
    });
    after(async () => { await member?.leave(); await session?.close(); });

    for (const args of [['status', 'evil'], ['members', 'evil'], ['elect', 'evil'], ['faults', 'evil'], ['services']]) {
      it(`${args.join(' ')}: no raw control character, no forged row (text and --json)`, async () => {
        const text = await runCli(['--connect', connect, '--root', root, ...args]);
        expect(text.code, text.stderr).to.equal(0);
        expect(text.stdout).to.not.match(RAW_CONTROL);
        expect(text.stdout.split('\n').some((l) => /^\s*7\s+FORGED/.test(l)), text.stdout).to.equal(false);
        if (args[0] !== 'services') expect(text.stdout).to.contain('evil\\x1b[2J');
        const json = await runCli(['--connect', connect, '--root', root, '--json', ...args]);
        expect(json.code, json.stderr).to.equal(0);
        expect(json.stdout).to.not.match(RAW_CONTROL);
        const parsed: unknown = JSON.parse(json.stdout);
        if (args[0] !== 'services') expect(JSON.stringify(parsed)).to.contain(JSON.stringify(EVIL).slice(1, -1));
      });
    }
  });

  it('a connect string whose first server never answers: the next one is tried within --timeout', async () => {
    const silent = await silentServer();
    try {
      // node-zookeeper-client shuffles the servers: several runs put the silent one first.
      for (const order of [[0, 1], [1, 0], [0, 1], [1, 0], [0, 1], [1, 0]]) {
        const servers = [`127.0.0.1:${silent.port}`, connect.split('/')[0]!];
        const r = await runCli(['--connect', order.map((i) => servers[i]).join(','), '--timeout', '4000', 'services']);
        expect(r.code, r.stderr).to.equal(0);
      }
    } finally {
      await silent.close();
    }
  });

  it('the session itself: a silent first server does not use up startTimeoutMs', async () => {
    const silent = await silentServer();
    try {
      for (let i = 0; i < 4; i++) {
        const s = new ZkSession({ connect: `127.0.0.1:${silent.port},${connect.split('/')[0]!}`, sessionTimeoutMs: 10000, startTimeoutMs: 3000 });
        try {
          await s.start();
        } finally {
          await s.close();
        }
      }
    } finally {
      await silent.close();
    }
  });

  it('absurd numeric options are usage errors naming the option', async () => {
    const timeout = await runCli(['--connect', connect, '--timeout', '99999999999', 'services']);
    expect(timeout.code).to.equal(2);
    expect(oneLine(timeout)).to.contain('--timeout').and.contain('must be an integer from 1 to 600000');
    const limit = await runCli(['--connect', connect, 'faults', 'x', '--limit', '1e9']);
    expect(limit.code).to.equal(2);
    expect(oneLine(limit)).to.contain('--limit');
  });

  it('haproxy: --print-config and --socket go into haproxy.cfg, so a newline, a space or a bad port is a usage error (no injected directive)', async () => {
    const root = uniqueRoot('cli-haproxy');
    const injected = ':8080\n  http-request return status 200 content-type text/plain string pwned';
    for (const args of [
      ['--socket', '/run/haproxy.sock', '--backend', 'b', '--print-config', injected],
      ['--socket', '/x\n  stats socket /tmp/evil level admin', '--backend', 'b', '--print-config', ':8080'],
      ['--socket', '', '--backend', 'b'],
      ['--socket', '127.0.0.1:99999', '--backend', 'b'],
    ]) {
      const r = await runCli(['--connect', connect, '--root', root, 'haproxy', 'svc', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).to.equal(2);
      expect(r.stdout).to.not.contain('pwned').and.not.contain('evil');
      expect(oneLine(r)).to.match(/invalid --(print-config|socket)/);
    }
    const long = await runCli(['--connect', connect, 'status', 'x'.repeat(100_000)]);
    expect(long.code).to.equal(2);
    expect(long.stderr.length, 'the error does not echo a 100 000-character name').to.be.below(1000);
  });
});
