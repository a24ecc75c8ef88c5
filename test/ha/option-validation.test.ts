import { expect } from 'chai';
import { Registry } from 'prom-client';
import { acl, FaultReporter, HaClient, HaMetrics, HaServer, InvalidOptionError } from '../../lib';
import { RpcConnection, RpcServer } from '../../lib/transport';
import { ZkSession } from '../../lib/zk';
import type { HaServerOptions } from '../../lib';

// What a plain JavaScript caller can pass: every value below is checked at construction, with
// INVALID_OPTION naming the option by its full path, never a TypeError later (at start(), at the
// first fault or call).

const serverBase: HaServerOptions = { zk: { connect: '127.0.0.1:1' }, service: 'svc', mode: 'primary-backup', journal: false };
const clientBase = { zk: { connect: '127.0.0.1:1' }, service: 'svc' };

function optionError(build: () => unknown): InvalidOptionError {
  try {
    build();
  } catch (error) {
    if (error instanceof InvalidOptionError) {
      expect(error.code).to.equal('INVALID_OPTION');
      return error;
    }
    throw error;
  }
  throw new Error('no InvalidOptionError');
}

const server = (extra: object) => (): HaServer => new HaServer({ ...serverBase, ...extra } as never);
const client = (extra: object) => (): HaClient => new HaClient({ ...clientBase, ...extra } as never);

describe('ha/option validation (no ZooKeeper)', () => {
  it('object options whose methods run later are checked at construction (metrics, logger, handlers, isEligible)', () => {
    const cases: [object, string][] = [
      [{ metrics: 'x' }, 'metrics'],
      [{ metrics: {} }, 'metrics'],
      [{ logger: 'x' }, 'logger'],
      [{ logger: { info: () => undefined } }, 'logger'],
      [{ handlers: [] }, 'handlers'],
      [{ handlers: 'x' }, 'handlers'],
      [{ handlers: { ping: 1 } }, 'handlers.ping'],
      [{ isEligible: true }, 'isEligible'],
      [{ journal: 'x' }, 'journal'],
    ];
    for (const [extra, option] of cases) expect(optionError(server(extra)).option, JSON.stringify(extra)).to.equal(option);
    expect(optionError(client({ metrics: 'x' })).option).to.equal('metrics');
    expect(optionError(client({ logger: 42 })).option).to.equal('logger');
    expect(optionError(() => new FaultReporter({ service: 's', metrics: 'x' } as never)).option).to.equal('metrics');
  });

  it('a wrong handler fails at construction also when metrics wrap every handler', () => {
    const metrics = new HaMetrics({ registry: new Registry() });
    expect(optionError(server({ metrics, handlers: { ping: 'pong' } })).option).to.equal('handlers.ping');
  });

  it('accepts well-formed objects: console as a logger, an HaMetrics, handlers', () => {
    const metrics = new HaMetrics({ registry: new Registry() });
    expect(() => server({ logger: console, metrics, handlers: { ping: () => 'pong' }, isEligible: () => true, journal: true })()).to.not.throw();
    const c = client({ logger: console, metrics })();
    void c.close();
  });

  it('acl must be a non-empty array of { scheme, id, perms } (not a TypeError at start())', () => {
    expect(optionError(server({ acl: 'open' })).option).to.equal('acl');
    expect(optionError(server({ acl: [] })).option).to.equal('acl');
    expect(optionError(server({ acl: [{ foo: 1 }] })).option).to.equal('acl[0]');
    expect(optionError(server({ acl: [...acl.open(), { scheme: 'world', id: 'anyone', perms: ['everything'] }] })).option).to.equal('acl[1]');
    expect(optionError(server({ acl: [{ scheme: 'world', id: 'anyone', perms: ['all'], extra: 1 }] })).option).to.equal('acl[0].extra');
    expect(() => server({ acl: [...acl.open(), acl.digest('u', 'p', ['read'])] })()).to.not.throw();
    expect(optionError(() => new ZkSession({ connect: '127.0.0.1:1', defaultAcl: [{}] } as never)).option).to.equal('defaultAcl[0]');
  });

  it('listen is an object { host?, port? }', () => {
    expect(optionError(server({ listen: 'abc' })).option).to.equal('listen');
    expect(optionError(server({ listen: { port: 'abc' } })).option).to.equal('listen.port');
    expect(optionError(server({ listen: { port: 70000 } })).option).to.equal('listen.port');
    expect(optionError(server({ listen: { host: '' } })).option).to.equal('listen.host');
    expect(() => server({ listen: { host: '127.0.0.1', port: 0 } })()).to.not.throw();
  });

  it('unknown keys are refused, with the known option they are closest to', () => {
    const s = optionError(server({ leasMs: 500 }));
    expect(s.option).to.equal('leasMs');
    expect(s.message).to.contain('did you mean leaseMs?');
    const c = optionError(client({ balancr: 'random' }));
    expect(c.option).to.equal('balancr');
    expect(c.message).to.contain('did you mean balancer?');
    expect(optionError(server({ frobnicate: true })).message).to.not.contain('did you mean');
    const nested: [() => unknown, string, string][] = [
      [server({ listen: { prot: 1 } }), 'listen.prot', 'listen.port'],
      [server({ http: { prot: 1 } }), 'http.prot', 'http.port'],
      [server({ transport: { maxFrameByte: 1 } }), 'transport.maxFrameByte', 'transport.maxFrameBytes'],
      [server({ zk: { connect: '127.0.0.1:1', sessionTimeout: 1000 } }), 'zk.sessionTimeout', 'zk.sessionTimeoutMs'],
      [server({ replication: { secet: 'x' } }), 'replication.secet', 'replication.secret'],
      [client({ retry: { budgt: {} } }), 'retry.budgt', 'retry.budget'],
      [client({ retry: { budget: { ratoi: 1 } } }), 'retry.budget.ratoi', 'retry.budget.ratio'],
      [client({ retry: { backoff: { intialMs: 1 } } }), 'retry.backoff.intialMs', 'retry.backoff.initialMs'],
      [client({ hedge: { delayMs: [0] } }), 'hedge.delayMs', 'hedge.delaysMs'],
      [client({ health: { consecutiveFailure: 3 } }), 'health.consecutiveFailure', 'health.consecutiveFailures'],
      [client({ connection: { heartbeatMS: 100 } }), 'connection.heartbeatMS', 'connection.heartbeatMs'],
      [client({ connection: { reconnect: { maxMS: 100 } } }), 'connection.reconnect.maxMS', 'connection.reconnect.maxMs'],
    ];
    for (const [build, option, suggestion] of nested) {
      const e = optionError(build);
      expect(e.option).to.equal(option);
      expect(e.message).to.equal(`option "${option}": unknown option, did you mean ${suggestion}?`);
    }
  });

  it('options the server or the client sets itself are refused where they would be overridden', () => {
    expect(optionError(server({ transport: { port: 1 } })).message).to.contain('listen.port');
    expect(optionError(server({ transport: { host: 'x' } })).option).to.equal('transport.host');
    expect(optionError(server({ transport: { handlers: {} } })).option).to.equal('transport.handlers');
    expect(optionError(client({ connection: { url: 'ws://127.0.0.1:1' } })).option).to.equal('connection.url');
  });

  it('options inside a group are named with the group', () => {
    const cases: [() => unknown, string][] = [
      [server({ transport: { maxFrameBytes: 1 } }), 'transport.maxFrameBytes'],
      [server({ transport: { heartbeatMs: 100, heartbeatTimeoutMs: 50 } }), 'transport.heartbeatTimeoutMs'],
      [server({ transport: 'x' }), 'transport'],
      [server({ zk: { connect: 'nope' } }), 'zk.connect'],
      [server({ zk: { connect: '127.0.0.1:1', sessionTimeoutMs: 1 } }), 'zk.sessionTimeoutMs'],
      [client({ zk: { connect: 5 } }), 'zk.connect'],
      [client({ retry: 'x' }), 'retry'],
      [client({ retry: { budget: 'x' } }), 'retry.budget'],
      [client({ retry: { budget: { ratio: -1 } } }), 'retry.budget.ratio'],
      [client({ retry: { backoff: { initialMs: -1 } } }), 'retry.backoff.initialMs'],
      [client({ hedge: 'x' }), 'hedge'],
      [client({ hedge: { delaysMs: 'x' } }), 'hedge.delaysMs'],
      [client({ hedge: { delaysMs: [-1] } }), 'hedge.delaysMs[0]'],
      [client({ health: 'x' }), 'health'],
      [client({ connection: { reconnect: { initialMs: -1 } } }), 'connection.reconnect.initialMs'],
    ];
    for (const [build, option] of cases) {
      const e = optionError(build);
      expect(e.option).to.equal(option);
      expect(e.message).to.match(new RegExp(`^option "${option.replace(/[.[\]]/g, '\\$&')}": (?!option ")`));
    }
  });

  it('standalone transports and sessions refuse unknown keys too, by their own names', () => {
    expect(optionError(() => new RpcServer({ prot: 1 } as never)).option).to.equal('prot');
    expect(optionError(() => new RpcConnection({ url: 'ws://127.0.0.1:1', tokn: 'x' } as never)).message).to.contain('did you mean token?');
    expect(optionError(() => new RpcConnection({ url: 'ws://127.0.0.1:1', reconnect: { initialMs: 0 } })).option).to.equal('reconnect.initialMs');
    expect(optionError(() => new ZkSession({ connect: '127.0.0.1:1', conect: 'x' } as never)).option).to.equal('conect');
    expect(optionError(() => new HaMetrics({ registry: new Registry(), prefx: 'a_' } as never)).option).to.equal('metrics.prefx');
  });
});
