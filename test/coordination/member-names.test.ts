/**
 * MemberNames (the member names a persistent recursive watch maintains): the races between a
 * listing or a read in flight and the events that arrive meanwhile, made deterministic with a
 * session whose answers the test releases by hand.
 */
import { expect } from 'chai';
import { MemberNames } from '../../lib/coordination/member-names';
import { ZkError } from '../../lib/zk';
import type { WatchEvent, WatchFn, ZkSession, ZnodeStat } from '../../lib/zk';

const MEMBERS = '/svc/members';

function handSession(): { session: ZkSession; fire: (type: WatchEvent['type'], path: string) => void; answer: (children: string[] | 'NO_NODE' | 'LOSS') => void } {
  let watcher: WatchFn | undefined;
  let pending: ((children: string[] | 'NO_NODE' | 'LOSS') => void) | undefined;
  const session = {
    watchRecursive: async (_path: string, fn: WatchFn) => {
      watcher = fn;
      return () => { watcher = undefined; };
    },
    children: () => new Promise<{ children: string[]; stat: ZnodeStat }>((resolve, reject) => {
      pending = (c) => {
        if (c === 'NO_NODE') reject(new ZkError('NO_NODE', 'no node'));
        else if (c === 'LOSS') reject(new ZkError('CONNECTION_LOSS', 'lost'));
        else resolve({ children: c, stat: {} as ZnodeStat });
      };
    }),
  } as unknown as ZkSession;
  return {
    session,
    fire: (type, path) => watcher?.({ type, path }),
    answer: (c) => { const p = pending; pending = undefined; p?.(c); },
  };
}

function setup(): { names: MemberNames; h: ReturnType<typeof handSession>; stale: string[]; gone: string[] } {
  const h = handSession();
  const stale: string[] = [];
  const gone: string[] = [];
  const names = new MemberNames(h.session, MEMBERS, { stale: (n) => stale.push(n), gone: (n) => gone.push(n) });
  return { names, h, stale, gone };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('MemberNames (persistent watch bookkeeping)', () => {
  it('applies events on top of the listing, including those that arrived while it was in flight', async () => {
    const { names, h, stale, gone } = setup();
    expect(await names.arm(() => undefined)).to.equal(true);
    expect(names.resyncNeeded).to.equal(true);
    const listing = names.list();
    // While the getChildren is in flight: b is created and a deleted (the listing may or may not reflect them).
    h.fire('created', `${MEMBERS}/m-b`);
    h.fire('deleted', `${MEMBERS}/m-a`);
    h.answer(['m-a', 'm-c']); // answered before those changes reached the server
    await listing;
    expect([...names.names].sort()).to.deep.equal(['m-b', 'm-c']);
    expect(names.resyncNeeded).to.equal(false);
    expect(stale).to.include.members(['m-b', 'm-c']);
    expect(gone).to.include('m-a');
  });

  it('a read issued before an event naming its node is out of date', async () => {
    const { names, h } = setup();
    await names.arm(() => undefined);
    const l = names.list();
    h.answer(['m-a']);
    await l;
    const mark = names.mark();
    expect(names.changedSince('m-a', mark)).to.equal(false);
    h.fire('dataChanged', `${MEMBERS}/m-a`);
    expect(names.changedSince('m-a', mark)).to.equal(true);
    expect(names.changedSince('m-b', mark)).to.equal(false);
    names.settle();
    expect(names.changedSince('m-a', mark)).to.equal(false);
  });

  it('events on the members node itself ask for a listing; deeper nodes and data of the members node are ignored', async () => {
    const { names, h, stale } = setup();
    const woken: string[] = [];
    await names.arm((e) => woken.push(`${e.type} ${e.path}`));
    const l = names.list();
    h.answer([]);
    await l;
    h.fire('dataChanged', MEMBERS);
    h.fire('created', `${MEMBERS}/m-a/below`);
    expect(woken).to.deep.equal([]);
    expect(names.resyncNeeded).to.equal(false);
    h.fire('deleted', MEMBERS);
    expect(names.resyncNeeded).to.equal(true);
    expect(woken).to.deep.equal([`deleted ${MEMBERS}`]);
    expect(stale).to.deep.equal([]);
  });

  it('no members node: no names; a failed listing is asked for again; disarm asks for one too', async () => {
    const { names, h } = setup();
    await names.arm(() => undefined);
    let l = names.list();
    h.answer('NO_NODE');
    expect(await l).to.equal(undefined);
    expect(names.names.size).to.equal(0);
    l = names.list();
    h.answer('LOSS');
    await l.then(() => expect.fail('should fail'), (e: ZkError) => expect(e.code).to.equal('CONNECTION_LOSS'));
    expect(names.resyncNeeded).to.equal(true);
    l = names.list();
    h.answer(['m-x']);
    await l;
    await tick();
    expect(names.armed).to.equal(true);
    names.disarm();
    expect(names.armed).to.equal(false);
    expect(names.resyncNeeded).to.equal(true);
  });
});
