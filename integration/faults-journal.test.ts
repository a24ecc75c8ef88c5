/**
 * The fault journal against real ZooKeeper: FaultReporter writes cluster-wide faults under
 * /<root>/<service>/faults as persistent sequential nodes, trims the oldest beyond maxEntries,
 * and readJournal returns them newest first, with unreadable entries as rejected-input.
 */
import { expect } from 'chai';
import type { ZkCluster } from './harness';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { uniqueRoot } from './support/wait';
import { ZkSession } from '../lib/zk';
import { ensureService, servicePaths } from '../lib/coordination';
import type { ServicePaths } from '../lib/coordination';
import { FaultReporter } from '../lib/ops/fault-reporter';
import { appendJournal, faultJournalSink, readJournal } from '../lib/coordination/fault-journal';
import type { FaultLogger, FaultReport } from '../lib/ops/fault-reporter';

class FakeLogger implements FaultLogger {
  readonly lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  info(obj: object, msg?: string): void { this.lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }); }
  warn(obj: object, msg?: string): void { this.lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }); }
  error(obj: object, msg?: string): void { this.lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }); }
}

describe('fault journal (real ZooKeeper)', function () {
  this.timeout(60000);
  let zk: ZkCluster;
  let session: ZkSession;

  const freshService = async (service = 'orders'): Promise<ServicePaths> => {
    const paths = servicePaths(service, uniqueRoot('faults'));
    await ensureService(session, paths, 'primary-backup');
    return paths;
  };

  before(async () => {
    zk = await sharedZooKeeper();
    session = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 });
    await session.start();
  });
  after(async () => { await session?.close(); });

  it('writes each cluster-wide fault as a JSON node f-<seq> under faults/, and only those kinds', async () => {
    const paths = await freshService();
    const reporter = new FaultReporter({ service: 'orders', member: 'orders-a', journal: faultJournalSink({ session, paths }) });
    const failover = reporter.report('failover', { durationMs: 640, detail: { epoch: 9 } });
    reporter.report('member-joined', { member: 'orders-b' });      // not journaled
    reporter.report('endpoint-ejected', { member: 'orders-b' });   // not journaled
    const lost = reporter.report('session-lost', { detail: { reason: 'expired' } });
    await reporter.flush();

    const { children } = await session.children(paths.faults);
    expect(children).to.have.length(2);
    for (const name of children) expect(name).to.match(/^f-\d{10}$/);
    const stored = await Promise.all(children.sort().map(async (name) => JSON.parse((await session.get(`${paths.faults}/${name}`)).data.toString()) as FaultReport));
    expect(stored).to.deep.equal([failover, lost].map((r) => JSON.parse(JSON.stringify(r)) as FaultReport));
  });

  it('trims the oldest entries beyond maxEntries; readJournal returns the rest newest first', async () => {
    const paths = await freshService();
    const reporter = new FaultReporter({ service: 'orders', journal: faultJournalSink({ session, paths, maxEntries: 3 }) });
    for (let n = 1; n <= 7; n++) reporter.report('failover', { detail: { n } });
    await reporter.flush();
    const { children } = await session.children(paths.faults);
    expect(children).to.have.length(3);
    const journal = await readJournal(session, paths);
    expect(journal.map((r) => r.detail.n)).to.deep.equal([7, 6, 5]);
    expect(journal.every((r) => r.kind === 'failover' && r.service === 'orders')).to.equal(true);
  });

  it('readJournal honours its limit and returns [] for an empty journal', async () => {
    const paths = await freshService();
    expect(await readJournal(session, paths)).to.deep.equal([]);
    for (let n = 1; n <= 5; n++) await appendJournal({ session, paths }, { kind: 'elected', service: 'orders', member: `m${n}`, at: n, durationMs: undefined, detail: { n } });
    const two = await readJournal(session, paths, 2);
    expect(two.map((r) => r.member)).to.deep.equal(['m5', 'm4']);
  });

  it('entries that do not parse as fault reports come back as rejected-input, in place, naming the node', async () => {
    const paths = await freshService();
    const journal = { session, paths };
    await appendJournal(journal, { kind: 'elected', service: 'orders', member: 'orders-a', at: 1, durationMs: undefined, detail: {} });
    const garbage = ['not json {', '42', 'null', '["a"]', '{"kind":1,"service":"orders","at":2}', '{"kind":"failover","service":"orders","at":3,"detail":"x"}', ''];
    const names: string[] = [];
    for (const data of garbage) {
      const created = await session.create(`${paths.faults}/f-`, data, { mode: 'persistent-sequential' });
      names.push(created.slice(created.lastIndexOf('/') + 1));
    }
    await appendJournal(journal, { kind: 'failover', service: 'orders', member: 'orders-b', at: 4, durationMs: 700, detail: { epoch: 5 } });

    const read = await readJournal(session, paths);
    expect(read.map((r) => r.kind)).to.deep.equal(['failover', ...garbage.map(() => 'rejected-input'), 'elected']);
    expect(read[0]).to.deep.include({ member: 'orders-b', durationMs: 700 });
    const rejected = read.slice(1, 1 + garbage.length);
    expect(rejected.map((r) => r.detail.node)).to.deep.equal([...names].reverse());
    for (const r of rejected) {
      expect(r.service).to.equal('orders');
      expect(r.detail.error).to.be.a('string').and.not.equal('');
    }
  });

  it('the logger receives a structured line at the right level for journaled and other kinds alike', async () => {
    const paths = await freshService();
    const logger = new FakeLogger();
    const reporter = new FaultReporter({ service: 'orders', member: 'orders-a', logger, journal: faultJournalSink({ session, paths }) });
    reporter.report('session-lost', { detail: { reason: 'expired' } });
    reporter.report('demoted', { detail: { reason: 'lease-expired' } });
    reporter.report('session-rejoined', { durationMs: 1500 });
    reporter.report('endpoint-ejected', { member: 'orders-c', detail: { forMs: 1000 } });
    await reporter.flush();
    expect(logger.lines.map((l) => [l.msg, l.level])).to.deep.equal([
      ['session-lost', 'error'], ['demoted', 'warn'], ['session-rejoined', 'info'], ['endpoint-ejected', 'warn'],
    ]);
    expect(logger.lines[2]!.obj).to.include({ zkha: 'fault', kind: 'session-rejoined', service: 'orders', member: 'orders-a', durationMs: 1500 });
    expect((await readJournal(session, paths)).map((r) => r.kind)).to.deep.equal(['session-rejoined', 'demoted', 'session-lost']);
  });

  it('a journal that cannot be written (no faults node, closed session) never fails or blocks the reporter', async () => {
    const missing = servicePaths('orders', uniqueRoot('faults-missing'));
    const seen: string[] = [];
    const reporter = new FaultReporter({ service: 'orders', journal: faultJournalSink({ session, paths: missing }) });
    reporter.on('fault', (r) => seen.push(r.kind));
    reporter.report('failover');
    await reporter.flush();

    const closed = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 });
    await closed.start();
    await closed.close();
    const paths = await freshService();
    const afterClose = new FaultReporter({ service: 'orders', journal: faultJournalSink({ session: closed, paths }) });
    afterClose.on('fault', (r) => seen.push(r.kind));
    afterClose.report('elected');
    await afterClose.flush();

    expect(seen).to.deep.equal(['failover', 'elected']);
    expect(await session.exists(missing.faults)).to.equal(null);
    expect(await readJournal(session, paths)).to.deep.equal([]);
    // The same reporter writes again once the journal can be written: a failed write does not jam its queue.
    await ensureService(session, missing, 'primary-backup');
    reporter.report('failover', { detail: { n: 2 } });
    await reporter.flush();
    expect((await readJournal(session, missing)).map((r) => r.detail.n)).to.deep.equal([2]);
  });
});
