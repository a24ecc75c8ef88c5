/**
 * A double fault the chaos list does not inject: the primary steps down while the member next in
 * line is frozen (SIGSTOP, its session alive). The old primary names that member as its successor;
 * no call may fail because of it — idempotent calls may try it, calls that may not be repeated wait
 * for the view, and the third in line takes over both.
 */
import { expect } from 'chai';
import { ServerSuite } from './support/server-suite';
import { startServer } from './support/ha-fixtures';
import { eventually, sleep, uniqueRoot } from './support/wait';
import type { Worker } from './support/worker';

const T = 1500;

describe('stepDown while the successor is frozen (real ZooKeeper, servers as processes)', function () {
  this.timeout(120000);
  const kit = new ServerSuite(T);

  for (const idempotent of [true, false]) {
    it(`${idempotent ? 'idempotent' : 'non-idempotent'} calls made during the handover all succeed, at the third in line`, async () => {
      const root = uniqueRoot('frozen-successor');
      const ws: Worker[] = [];
      for (let i = 0; i < 3; i++) {
        const w = await startServer({ connect: kit.connect, root, service: 'svc', mode: 'primary-backup', id: `s${i + 1}`, sessionTimeoutMs: T });
        ws.push(w);
        kit.workers.push(w);
      }
      const c = await kit.client(root, 'svc');
      await eventually('s1 primary', () => ws[0]!.of('elected').length > 0);
      await c.call('whoami', {}, { idempotent: true });
      ws[1]!.signal('SIGSTOP');
      try {
        await sleep(100);
        ws[0]!.send({ cmd: 'stepDown' });
        const outcomes = await Promise.all([0, 1, 2, 3].map(async (i) => {
          await sleep(i * 50);
          return c.callWithInfo('whoami', {}, { idempotent, deadlineMs: 8000 }).then((r) => `ok ${r.member}`, (e: Error) => `failed: ${e.message}`);
        }));
        expect(outcomes).to.deep.equal(['ok s3', 'ok s3', 'ok s3', 'ok s3']);
      } finally {
        ws[1]!.signal('SIGCONT');
      }
    });
  }
});
