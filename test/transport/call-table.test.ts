import { expect } from 'chai';
import fc from 'fast-check';
import { CallTable, PendingCall } from '../../lib/transport/call-table';
import { MAX_CALL_ID } from '../../lib/transport/codec';

const noop = (): void => undefined;
const pending = (id: number, deadline = 1000): PendingCall => new PendingCall(id, deadline, noop, noop, undefined);

function addNew(t: CallTable, deadline = 1000): PendingCall {
  const call = pending(t.allocateId(), deadline);
  t.add(call);
  return call;
}

describe('transport call table (array slots)', () => {
  it('behaves like a map of outstanding calls under any mix of adds and takes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(400)), { maxLength: 600 }), (ops) => {
        const t = new CallTable();
        const model = new Map<number, PendingCall>();
        for (const [add, pick] of ops) {
          if (add || model.size === 0) {
            const call = addNew(t);
            expect(model.has(call.id), 'id handed out twice while live').to.equal(false);
            model.set(call.id, call);
          } else {
            const ids = [...model.keys()];
            const id = ids[pick % ids.length]!;
            expect(t.take(id)).to.equal(model.get(id));
            model.delete(id);
            expect(t.take(id)).to.equal(undefined);
          }
          expect(t.size).to.equal(model.size);
        }
        for (const [id, call] of model) expect(t.take(id)).to.equal(call);
        expect(t.size).to.equal(0);
      }),
      { numRuns: 200 },
    );
  });

  it('never confuses an id with another that shares its slot, and skips ids whose slot is taken', () => {
    const t = new CallTable();
    const old = addNew(t);
    // Lap the table many times while `old` stays outstanding.
    for (let i = 0; i < 5000; i++) {
      const c = addNew(t);
      expect(c.id).to.not.equal(old.id);
      expect(t.take(old.id + 64)).to.equal(old.id + 64 === c.id ? c : undefined);
      if (c.id !== old.id + 64) t.take(c.id);
    }
    expect(t.take(old.id)).to.equal(old);
  });

  it('wraps ids at MAX_CALL_ID (never 0) and handles ids over 2^31', () => {
    const t = new CallTable();
    (t as unknown as { nextId: number }).nextId = MAX_CALL_ID - 1;
    const ids = [addNew(t), addNew(t), addNew(t)].map((c) => c.id);
    expect(ids).to.deep.equal([MAX_CALL_ID - 1, MAX_CALL_ID, 1]);
    for (const id of ids) expect(t.take(id)?.id).to.equal(id);
    expect(t.take(0)).to.equal(undefined);
  });

  it('grows past its first size and keeps every call', () => {
    const t = new CallTable();
    const calls = Array.from({ length: 1000 }, () => addNew(t));
    expect(t.size).to.equal(1000);
    for (const c of calls) expect(t.take(c.id)).to.equal(c);
  });

  it('expires what is due and returns the earliest deadline left; takeAll returns the oldest first', () => {
    const t = new CallTable();
    const a = addNew(t, 10);
    const b = addNew(t, 30);
    const c = addNew(t, 20);
    const expired: PendingCall[] = [];
    expect(t.expire(15, (x) => expired.push(x))).to.equal(20);
    expect(expired).to.deep.equal([a]);
    expect(t.size).to.equal(2);
    const d = addNew(t, 40);
    expect(t.takeAll()).to.deep.equal([b, c, d]);
    expect(t.size).to.equal(0);
    expect(addNew(t).id).to.equal(d.id + 1);
  });
});
