import { expect } from 'chai';
import { CoordinationError, decodeRecord } from '../../lib/coordination';
import { completeRecord, encodeRecord, type MemberRecord } from '../../lib/coordination/member-record';
import { parseServiceNode } from '../../lib/coordination/service-node';

const good: MemberRecord = { id: 'a', url: 'ws://127.0.0.1:1', weight: 1, pid: 1, host: 'h', startedAt: 1, version: '0.1.0' };
const bytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).to.be.instanceOf(CoordinationError);
    return (error as CoordinationError).code;
  }
}

describe('coordination member records', () => {
  it('round-trips a complete record; completeRecord fills pid, host, startedAt, version and weight', () => {
    const r = completeRecord({ id: 'x', url: 'wss://h:1/p', zone: 'z', meta: { k: 1 } });
    expect(r).to.include({ id: 'x', weight: 1, pid: process.pid, zone: 'z' });
    expect(r.host).to.be.a('string');
    expect(decodeRecord(encodeRecord(r), '/p')).to.deep.equal(r);
  });

  it('rejects what is not a member record with BAD_MEMBER_RECORD, never another error', () => {
    const cases: Buffer[] = [
      Buffer.from('not json'), Buffer.from(''), Buffer.from([0xff, 0xfe, 0x00]), bytes(null), bytes([good]), bytes('str'),
      bytes({ ...good, id: '' }), bytes({ ...good, id: 'x'.repeat(257) }), bytes({ ...good, url: 'http://x' }),
      bytes({ ...good, weight: -1 }), bytes({ ...good, weight: '1' }), bytes({ ...good, zone: 3 }), bytes({ ...good, meta: [] }),
      bytes({ ...good, meta: null }), bytes({ ...good, pid: 1.5 }), bytes({ ...good, host: 1 }), bytes({ ...good, startedAt: 'x' }),
      bytes({ ...good, version: 1 }), Buffer.alloc(64 * 1024 + 1, 0x20),
    ];
    for (const data of cases) expect(code(() => decodeRecord(data, '/m')), data.toString().slice(0, 40)).to.equal('BAD_MEMBER_RECORD');
    expect(code(() => decodeRecord(bytes(good), '/m'))).to.equal(undefined);
  });

  it('accepts only a strict member URL: ws/wss, a host, a port, no whitespace or control characters', () => {
    for (const url of ['ws://h:1', 'wss://h.example:65535/p?q=1', 'ws://[::1]:80', 'ws://127.0.0.1:9/x', 'ws://zk_ha-server_1:9', 'ws://h.example.:9', 'ws://exämple.com:9']) {
      expect(code(() => decodeRecord(bytes({ ...good, url }), '/m')), url).to.equal(undefined);
    }
    const bad = ['ws://h', 'ws://h:0', 'ws://h:70000', 'ws:// h:1', 'ws://h:1/a b', 'ws://h:1\n', 'ws://h:1\u0000', 'http://h:1',
      'ws://u:p@h:1', 'ws://:1', 'ws://', '', 'x'.repeat(3000),
      // Hosts a consumer could read as syntax (HAProxy's runtime API splits on ';'), or no DNS name.
      'ws://a;b:1', "ws://a'b:1", 'ws://a"b:1', 'ws://a,b=c:1', 'ws://-a:1', 'ws://a..b:1', `ws://${'a'.repeat(64)}:1`];
    for (const url of bad) expect(code(() => decodeRecord(bytes({ ...good, url }), '/m')), JSON.stringify(url)).to.equal('BAD_MEMBER_RECORD');
  });

  it('accepts only a base URL for "http" (the dashboard and HAProxy request <base>/primary): no path, query, credentials, port 0', () => {
    for (const http of ['http://h:1', 'https://h.example:65535', 'http://[::1]:80/', 'http://127.0.0.1:9', 'http://h']) {
      expect(code(() => decodeRecord(bytes({ ...good, http }), '/m')), http).to.equal(undefined);
    }
    for (const http of ['http://10.0.0.5:80/internal/admin/purge?all=1&x=', 'http://h:1/x', 'http://h:1?q', 'http://h:1#f', 'http://u:p@h:1',
      'http://h:0', 'http://h:70000', 'ftp://h:1', 'http://a;b:1', 'http:// h:1', 'http://h:1\n', '', 3]) {
      expect(code(() => decodeRecord(bytes({ ...good, http }), '/m')), JSON.stringify(http)).to.equal('BAD_MEMBER_RECORD');
    }
  });

  it('a "meta" nested deeper than 32 levels is no record (every reader serialises records: 6 000 levels overflowed their stacks)', () => {
    // Written as text: JSON.stringify itself overflows on such a value (the readers' problem).
    const deep = `${JSON.stringify(good).slice(0, -1)},"meta":${'{"d":'.repeat(6000)}{}${'}'.repeat(6000)}}`;
    expect(code(() => decodeRecord(Buffer.from(deep), '/m'))).to.equal('BAD_MEMBER_RECORD');
    let ok: unknown = 1;
    for (let i = 0; i < 31; i++) ok = [ok];
    expect(code(() => decodeRecord(bytes({ ...good, meta: { ok } }), '/m'))).to.equal(undefined);
  });

  it('host checks cost no backtracking: 2 000-character hosts answer in well under a millisecond each', () => {
    const started = performance.now();
    for (let i = 0; i < 50; i++) code(() => decodeRecord(bytes({ ...good, url: `ws://${'a.'.repeat(900)}-!:1` }), '/m'));
    expect(performance.now() - started).to.be.below(500);
  });

  it('encodeRecord refuses a record no reader would accept (too large) with BAD_MEMBER_RECORD', () => {
    expect(code(() => encodeRecord({ ...good, meta: { blob: 'x'.repeat(70 * 1024) } }))).to.equal('BAD_MEMBER_RECORD');
  });

  it('encodeRecord validates too: a bad record fails before it reaches ZooKeeper', () => {
    expect(code(() => encodeRecord({ ...good, url: 'tcp://x' }))).to.equal('BAD_MEMBER_RECORD');
  });

  it('parses the service node and rejects a bad one with BAD_SERVICE_NODE', () => {
    expect(parseServiceNode(bytes({ mode: 'redundant', createdAt: 1, layout: 1 }), '/s').mode).to.equal('redundant');
    for (const bad of [Buffer.from('x'), bytes(null), bytes({ mode: 'other' }), bytes({})]) {
      expect(code(() => parseServiceNode(bad, '/s'))).to.equal('BAD_SERVICE_NODE');
    }
  });
  it('decodes a text once per process into one frozen record that every reader shares; invalid texts always fail', () => {
    const data = bytes({ ...good, id: 'cached', meta: { nested: { k: [1] } } });
    const a = decodeRecord(data, '/a');
    const b = decodeRecord(data, '/b');
    expect(a).to.equal(b);
    // Shared, so nobody may change it for the others: frozen all the way down.
    expect(Object.isFrozen(a)).to.equal(true);
    expect(Object.isFrozen((a.meta as { nested: { k: number[] } }).nested.k)).to.equal(true);
    expect(() => { (a as { id: string }).id = 'x'; }).to.throw(TypeError);
    const bad = bytes({ ...good, url: 'ws://no-port' });
    expect(code(() => decodeRecord(bad, '/c'))).to.equal('BAD_MEMBER_RECORD');
    expect(code(() => decodeRecord(bad, '/c'))).to.equal('BAD_MEMBER_RECORD');
    // Past the bound the oldest texts are forgotten (validated again), never wrongly accepted.
    for (let i = 0; i < 600; i++) decodeRecord(bytes({ ...good, id: `n${i}` }), '/d');
    expect(decodeRecord(data, '/a')).to.deep.equal(a);
    expect(code(() => decodeRecord(bad, '/c'))).to.equal('BAD_MEMBER_RECORD');
  });
});
