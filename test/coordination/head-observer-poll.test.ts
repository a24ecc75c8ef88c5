import { expect } from 'chai';
import { HeadObserver } from '../../lib/coordination/head-observer';
import { RELEASED } from '../../lib/coordination/lease-holder';
import { leaseNodeName, releaseMarkerPath, servicePaths } from '../../lib/coordination/paths';
import type { WatchEvent, ZkSession, ZnodeStat } from '../../lib/zk';
import { ZkError } from '../../lib/zk';

const paths = servicePaths('svc', '/t');
const HEAD = 'm-0000000001';
const OWNER = '00000000000000aa';
const MEMBER = `${paths.members}/${HEAD}`;
const LEASE = `${paths.leases}/${leaseNodeName(HEAD, OWNER)}`;
const SECOND_LEASE = `${paths.leases}/${leaseNodeName('m-0000000002', OWNER)}`;
const RECORD = JSON.stringify({ id: 'h', url: 'ws://127.0.0.1:1/h', weight: 1, pid: 1, host: 'h', startedAt: 1, version: '0' });

interface Node { data: string; version: number; mzxid: bigint }

/**
 * The reads a backup observer makes, answered from a map of nodes: enough of a ZkSession to check
 * that polling arms no watch and how it counts what it reads (the real thing: integration tests).
 */
class ReadOnlyStore {
  readonly nodes = new Map<string, Node>();
  watches = 0;
  readonly connectedSince = 0;
  private zxid = 100n;

  write(path: string, data: string, version?: number): void {
    const previous = this.nodes.get(path);
    this.nodes.set(path, { data, version: version ?? (previous ? previous.version + 1 : 0), mzxid: ++this.zxid });
  }

  private stat(node: Node): ZnodeStat {
    return { czxid: 1n, mzxid: node.mzxid, pzxid: 1n, ctime: 0, mtime: 0, version: node.version, cversion: 0, aversion: 0, ephemeralOwner: OWNER, dataLength: node.data.length, numChildren: 0 };
  }

  async get(path: string, opts: { watch?: unknown } = {}): Promise<{ data: Buffer; stat: ZnodeStat }> {
    if (opts.watch) this.watches++;
    const node = this.nodes.get(path);
    if (!node) throw new ZkError('NO_NODE', `no node ${path}`);
    return { data: Buffer.from(node.data), stat: this.stat(node) };
  }

  async exists(path: string, opts: { watch?: unknown } = {}): Promise<ZnodeStat | null> {
    if (opts.watch) this.watches++;
    const node = this.nodes.get(path);
    return node ? this.stat(node) : null;
  }
}

function observer(store: ReadOnlyStore): HeadObserver {
  return new HeadObserver(store as unknown as ZkSession, paths, HEAD, {
    leaseMs: 100, driftMargin: 0.1, noLeaseGraceMs: 320, poll: true, onEvent: () => undefined, onInvalid: () => undefined,
  });
}

describe('coordination/head-observer, polling (the third in line)', () => {
  it('arms no watch; a new lease version counts as seen when read, an unchanged one keeps its first sighting', async () => {
    const store = new ReadOnlyStore();
    store.write(MEMBER, RECORD);
    store.write(LEASE, 'serving');
    const o = observer(store);
    expect(await o.refresh()).to.equal(true);
    const first = o.deadline();
    await new Promise((r) => setTimeout(r, 20));
    expect(await o.refresh()).to.equal(true);
    expect(o.deadline(), 'no renewal: the deadline stays').to.equal(first);
    store.write(LEASE, 'serving');
    expect(await o.refresh()).to.equal(true);
    expect(o.deadline(), 'a renewal read later moves the deadline later').to.be.greaterThan(first);
    expect(store.watches).to.equal(0);
  });

  it('a lease node deleted and created again at the same version is a new write (its zxid differs)', async () => {
    const store = new ReadOnlyStore();
    store.write(MEMBER, RECORD);
    store.write(LEASE, 'serving', 3);
    const o = observer(store);
    await o.refresh();
    const first = o.deadline();
    await new Promise((r) => setTimeout(r, 20));
    store.write(LEASE, 'serving', 3);
    await o.refresh();
    expect(o.deadline()).to.be.greaterThan(first);
  });

  it('the head gone: counts from the listing that showed it gone — or at once when the second, gone too, left its lease released with its own release marker', async () => {
    const store = new ReadOnlyStore();
    store.write(MEMBER, RECORD);
    store.write(LEASE, 'serving');
    const o = observer(store);
    o.setSecond({ path: `${paths.members}/m-0000000002`, version: 0, leasePath: SECOND_LEASE });
    await o.refresh();
    store.nodes.delete(MEMBER);
    expect(await o.refresh(), 'the departure is read, not notified').to.equal(false);
    expect(await o.departureBasis(12345)).to.equal(12345);
    store.write(SECOND_LEASE, RELEASED);
    expect(await o.departureBasis(12345), 'RELEASED without the holder\'s release marker: anyone may have written it').to.equal(12345);
    store.write(releaseMarkerPath(paths, leaseNodeName('m-0000000002', OWNER)), '');
    expect(await o.departureBasis(12345)).to.equal(Number.NEGATIVE_INFINITY);
    store.write(SECOND_LEASE, 'serving');
    expect(await o.departureBasis(12345), 'any other last state: the listing').to.equal(12345);
  });
});

/** The same store, with the watches a watching observer (the second in line) arms, and a lease read that can be held. */
class WatchedStore extends ReadOnlyStore {
  readonly armed = new Map<string, (event: WatchEvent) => void>();
  hold: Promise<void> | undefined;

  override async get(path: string, opts: { watch?: (event: WatchEvent) => void } = {}): Promise<{ data: Buffer; stat: ZnodeStat }> {
    if (opts.watch) this.armed.set(path, opts.watch);
    if (path === LEASE && this.hold) await this.hold;
    return super.get(path, opts);
  }

  fire(path: string, type: WatchEvent['type']): void {
    const watch = this.armed.get(path);
    this.armed.delete(path);
    watch?.({ type, path });
  }
}

/** The second in line's observer: its own member node second, it watches the head. */
function watching(store: WatchedStore): HeadObserver {
  return new HeadObserver(store as unknown as ZkSession, paths, HEAD, {
    leaseMs: 100, driftMargin: 0.1, noLeaseGraceMs: 320, onEvent: () => undefined, onInvalid: () => undefined,
  });
}

describe('coordination/head-observer, watching (the second in line)', () => {
  it('a release: its lease notification starts a read, the departure ends the wait for it at once; the read still lands, and shows the last state', async () => {
    const store = new WatchedStore();
    store.write(MEMBER, RECORD);
    store.write(LEASE, 'serving');
    const o = watching(store);
    expect(await o.refresh()).to.equal(true);
    expect(o.releaseMarker, 'no departure yet').to.equal(undefined);
    // The release multi: the lease write notifies first, then the member node's deletion.
    let answer!: () => void;
    store.hold = new Promise((resolve) => (answer = resolve));
    store.write(LEASE, RELEASED);
    store.write(releaseMarkerPath(paths, leaseNodeName(HEAD, OWNER)), ''); // the release multi creates it (owned by the head's session)
    store.nodes.delete(MEMBER);
    store.fire(LEASE, 'dataChanged');
    const refreshed = o.refresh(); // reads the lease: held
    store.fire(MEMBER, 'deleted');
    expect(await refreshed, 'the departure ends the wait; the read is still out').to.equal(false);
    expect(o.releaseMarker).to.equal(releaseMarkerPath(paths, leaseNodeName(HEAD, OWNER)));
    answer();
    expect(await o.departureBasis(12345), 'the read, answered after the departure, shows RELEASED').to.equal(Number.NEGATIVE_INFINITY);
  });

  it('a departure with no lease event before it (an expiry or an operator\'s deletion with the watch armed) offers no release claim', async () => {
    const store = new WatchedStore();
    store.write(MEMBER, RECORD);
    store.write(LEASE, 'serving');
    const o = watching(store);
    await o.refresh();
    store.nodes.delete(MEMBER);
    store.fire(MEMBER, 'deleted');
    expect(o.releaseMarker).to.equal(undefined);
  });

  it('a session expiry (lease and member node deleted in one transaction) offers no release claim either', async () => {
    const store = new WatchedStore();
    store.write(MEMBER, RECORD);
    store.write(LEASE, 'serving');
    const o = watching(store);
    await o.refresh();
    store.nodes.delete(LEASE);
    store.nodes.delete(MEMBER);
    store.fire(LEASE, 'deleted');
    store.fire(MEMBER, 'deleted');
    expect(o.releaseMarker).to.equal(undefined);
  });
});
