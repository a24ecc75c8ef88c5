/** The chaos checker on hand-made histories: a clean one passes, and each kind of violation is caught. */
import { expect } from 'chai';
import { checkHistory } from '../../integration/chaos/checker';
import type { ClientCall, History, Recovery, ServerRun } from '../../integration/chaos/history';

const run = (server: string, callId: string, epoch: number | undefined, t0: number, t1 = t0 + 1): ServerRun =>
  ({ server, callId, epoch, t0: BigInt(t0) * 1000n, t1: BigInt(t1) * 1000n });
const ok = (callId: string, epoch: number, start: number, end: number, extra: Partial<ClientCall> = {}): ClientCall =>
  ({ client: 'c1', callId, idempotent: false, start: BigInt(start) * 1000n, end: BigInt(end) * 1000n, outcome: 'ok', epoch, attempts: 1, ...extra });
const failed = (callId: string, start: number, end: number, extra: Partial<ClientCall> = {}): ClientCall =>
  ({ client: 'c1', callId, idempotent: false, start: BigInt(start) * 1000n, end: BigInt(end) * 1000n, outcome: 'error', code: 'UNAVAILABLE', notExecuted: false, ...extra });
const recovered: Recovery = { healedAt: 0n, rejoinedAt: 1n, expectedMembers: ['s1', 's2'], membersAfter: ['s1', 's2'], probesOk: true };

/** Epoch 1 on s1, a failover, epoch 3 on s2 (times in µs). */
function clean(): { runs: ServerRun[]; calls: ClientCall[] } {
  return {
    runs: [run('s1#1', 'a', 1, 10), run('s1#1', 'b', 1, 20), run('s2#2', 'c', 3, 5000), run('s2#2', 'd', 3, 5010)],
    calls: [ok('a', 1, 9, 12), ok('b', 1, 19, 22), ok('c', 3, 100, 5002, { attempts: 4 }), ok('d', 3, 5008, 5012)],
  };
}

const kinds = (h: History): string[] => checkHistory(h).violations.map((v) => v.kind);

describe('chaos checker', () => {
  it('passes a clean history with a failover, a retried idempotent call and a failed (unknown outcome) call', () => {
    const h = clean();
    h.runs.push(run('s1#1', 'e', 1, 30), run('s2#2', 'e', 3, 5020));
    h.calls.push(ok('e', 3, 29, 5022, { idempotent: true, attempts: 2 }));
    h.runs.push(run('s1#1', 'f', 1, 40));
    h.calls.push(failed('f', 39, 4000));
    const r = checkHistory({ ...h, recovery: recovered });
    expect(r.violations).to.deep.equal([]);
    expect(r).to.include({ ok: true, splitBrain: false, duplicateExecutions: 0 });
  });

  it('executed-not-reported: a call failed with notExecuted: true that a server ran', () => {
    const h = clean();
    h.runs.push(run('s2#2', 'n', 3, 5030));
    h.calls.push(failed('n', 5029, 5040, { code: 'FENCED', notExecuted: true }));
    h.calls.push(failed('u', 5029, 5040, { notExecuted: true })); // did not run: fine
    expect(kinds(h)).to.deep.equal(['executed-not-reported']);
  });

  it('split brain: runs of two epochs overlap in time', () => {
    const h = clean();
    h.runs.push(run('s1#1', 'x', 1, 4990, 5004)); // started before epoch 3, still running when it began
    h.calls.push(failed('x', 4989, 6000));
    const r = checkHistory(h);
    expect(r.splitBrain).to.equal(true);
    expect(r.violations.map((v) => v.kind)).to.deep.equal(['split-brain']);
    expect(r.violations[0]!.message).to.match(/epoch 1 .* overlaps epoch 3/);
  });

  it('split brain: a lower epoch runs after a higher one has started (a stale primary resumed)', () => {
    const h = clean();
    h.runs.push(run('s1#1', 'late', 1, 6000));
    h.calls.push(failed('late', 5999, 7000, { code: 'FENCED' }));
    const r = checkHistory(h);
    expect(kinds(h)).to.deep.equal(['split-brain']);
    expect(r.violations[0]!.message).to.match(/epoch 1 .* after epoch 3/);
    expect(r.violations[0]!.evidence).to.deep.include(run('s1#1', 'late', 1, 6000));
  });

  it('split brain: a lower epoch starting after a higher one is caught even when a third epoch is in between', () => {
    const runs = [run('a', 'p', 1, 10), run('b', 'q', 5, 100), run('c', 'r', 9, 200), run('a', 's', 1, 150)];
    expect(kinds({ runs, calls: [] })).to.deep.equal(['split-brain']);
  });

  it('split brain: two processes ran under the same epoch', () => {
    const h = clean();
    h.runs.push(run('s3#7', 'y', 3, 5011));
    h.calls.push(failed('y', 5000, 5100));
    expect(kinds(h)).to.deep.equal(['split-brain']);
  });

  it('a run with no epoch is unfenced (counts as split brain)', () => {
    const h = clean();
    h.runs.push(run('s2#2', 'z', undefined, 5030));
    h.calls.push(failed('z', 5029, 5031));
    const r = checkHistory(h);
    expect(r.violations.map((v) => v.kind)).to.deep.equal(['unfenced-run']);
    expect(r.splitBrain).to.equal(true);
  });

  it('an acknowledged call that never ran, or ran under another epoch than its response carried', () => {
    const h = clean();
    h.calls.push(ok('ghost', 3, 5000, 5040));
    h.runs.push(run('s2#2', 'wrong', 3, 5050));
    h.calls.push(ok('wrong', 1, 5049, 5051)); // also an epoch regression for c1
    const r = checkHistory(h);
    expect(r.violations.filter((v) => v.kind === 'ack-mismatch').map((v) => (v.evidence[0] as ClientCall).callId)).to.deep.equal(['ghost', 'wrong']);
  });

  it('a retried idempotent call may run twice under the epoch its response carried (the first answer was lost)', () => {
    const h = clean();
    h.runs.push(run('s2#2', 'r', 3, 5025), run('s2#2', 'r', 3, 5030));
    h.calls.push(ok('r', 3, 5024, 5031, { idempotent: true, attempts: 5 }));
    expect(kinds(h)).to.deep.equal([]);
    h.calls.pop();
    h.calls.push(ok('r', 3, 5024, 5031, { idempotent: false, attempts: 5 }));
    expect(kinds(h)).to.have.members(['ack-mismatch', 'duplicate-execution']);
  });

  it('a non-idempotent call that ran twice is a duplicate execution, even if the client saw it fail', () => {
    for (const last of [ok('n', 3, 29, 5030, { attempts: 2 }), failed('n', 29, 5030)]) {
      const h = clean();
      h.runs.push(run('s1#1', 'n', 1, 30), run('s2#2', 'n', 3, 5025));
      h.calls.push(last);
      const r = checkHistory(h);
      expect(r.violations.map((v) => v.kind)).to.include('duplicate-execution');
      expect(r.duplicateExecutions).to.equal(1);
      expect(r.splitBrain).to.equal(false);
    }
  });

  it('an idempotent call that ran twice with a single attempt is a duplicate execution', () => {
    const h = clean();
    h.runs.push(run('s2#2', 'i', 3, 5025), run('s2#2', 'i', 3, 5026), run('s2#2', 'i', 3, 5027));
    h.calls.push(ok('i', 3, 5024, 5028, { idempotent: true, attempts: 1 }));
    const r = checkHistory(h);
    expect(r.violations.map((v) => v.kind)).to.include('duplicate-execution');
    expect(r.duplicateExecutions).to.equal(2);
  });

  it('epoch regression: a client accepts epoch 1 after it accepted epoch 3', () => {
    const h = clean();
    h.runs.push(run('s1#1', 'old', 1, 50));
    h.calls.push(ok('old', 1, 49, 9000)); // answered long after c1 took epoch 3 (the run itself was in time)
    expect(kinds(h)).to.deep.equal(['epoch-regression']);
    // Another client is judged on its own: no regression for it.
    h.calls.pop();
    h.calls.push(ok('old', 1, 49, 60, { client: 'c2' }));
    expect(kinds(h)).to.deep.equal([]);
  });

  it('responses completed in the same turn (within the slack) may be accepted in either order', () => {
    const h = clean();
    h.runs.push(run('s1#1', 'tie', 1, 40));
    h.calls.push(ok('tie', 1, 39, 5003)); // 1 µs after 'c' (epoch 3) completed
    expect(kinds(h)).to.deep.equal([]);
    expect(checkHistory(h, { sameTurnNs: 0n }).violations.map((v) => v.kind)).to.deep.equal(['epoch-regression']);
  });

  it('not rejoined: a member missing, a stale node left, the group never whole, or a probe failed', () => {
    const h = clean();
    const cases: Recovery[] = [
      { ...recovered, membersAfter: ['s1'] },
      { ...recovered, membersAfter: ['s1', 's2', 's2'] },
      { ...recovered, rejoinedAt: undefined },
      { ...recovered, probesOk: false },
    ];
    for (const recovery of cases) expect(kinds({ ...h, recovery })).to.deep.equal(['not-rejoined']);
  });
});
