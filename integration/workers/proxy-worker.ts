/**
 * TCP proxies in a process of their own (bench:failover): the proxies between each server and
 * ZooKeeper are fault injectors, not part of the system under test, so they must not run on the
 * event loop of the client being measured. Commands on stdin: `{"cmd":"start","id","host","port"}`
 * → event `proxy` {id, address}; `blackhole` / `heal` / `close` {id} → event `done` {id, cmd}.
 */
import { TcpProxy } from '../harness/tcp-proxy';
import { emit, onCommand } from './worker-io';

const proxies = new Map<string, TcpProxy>();

onCommand(async (c) => {
  const id = String(c.id);
  try {
    switch (c.cmd) {
      case 'start': {
        const proxy = await TcpProxy.start({ host: String(c.host), port: Number(c.port) });
        proxies.set(id, proxy);
        emit('proxy', { id, address: proxy.address });
        return;
      }
      case 'blackhole': proxies.get(id)?.blackhole(); break;
      case 'heal': proxies.get(id)?.heal(); break;
      case 'close': {
        const proxy = proxies.get(id);
        proxies.delete(id);
        await proxy?.close();
        break;
      }
      default: emit('bad-command', { id, cmd: String(c.cmd) }); return;
    }
    emit('done', { id, cmd: String(c.cmd) });
  } catch (error) {
    emit('failed', { id, cmd: String(c.cmd), error: String(error) });
  }
});
