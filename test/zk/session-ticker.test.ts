import { expect } from 'chai';
import { startTicking, stopTicking } from '../../lib/zk/session-ticker';

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe('session ticker (one timer per period for every session)', () => {
  it('ticks every member of a period, stops each one alone, and drops the timer with the last', async () => {
    const counts = [0, 0, 0];
    const members = counts.map((_, i) => ({ tick: () => { counts[i]!++; } }));
    startTicking(members[0]!, 10);
    startTicking(members[1]!, 10);
    startTicking(members[2]!, 20);
    await until(() => counts.every((c) => c >= 2));
    stopTicking(members[0]!, 10);
    const stopped = counts[0]!;
    const other = counts[1]!;
    await until(() => counts[1]! >= other + 2);
    expect(counts[0]).to.equal(stopped);
    stopTicking(members[1]!, 10);
    stopTicking(members[2]!, 20);
    stopTicking(members[2]!, 20); // twice: harmless
    const frozen = [...counts];
    await new Promise((r) => setTimeout(r, 50));
    expect(counts).to.deep.equal(frozen);
  });

  it('a member that stops another during a tick round does not break the round', async () => {
    let ticksB = 0;
    const b = { tick: () => { ticksB++; } };
    const a = { tick: () => stopTicking(b, 7) };
    startTicking(a, 7);
    startTicking(b, 7);
    await new Promise((r) => setTimeout(r, 40));
    stopTicking(a, 7);
    expect(ticksB).to.equal(0);
  });
});
