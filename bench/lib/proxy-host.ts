import { Worker } from '../../integration/support/worker';

/** One proxy of a ProxyHost: the same faults as the harness's TcpProxy, carried out in the host process. */
export interface RemoteProxy {
  readonly address: string;
  blackhole(): Promise<void>;
  heal(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The harness's TCP proxies, run in a child process of their own (integration/workers/proxy-worker.ts)
 * so that relaying every ZooKeeper packet of every server does not wait for — or slow — the event
 * loop of the client the bench measures.
 */
export class ProxyHost {
  private readonly worker = new Worker('proxy-worker.ts');
  private next = 0;

  async start(target: { host: string; port: number }): Promise<RemoteProxy> {
    const id = `p${this.next++}`;
    this.worker.send({ cmd: 'start', id, ...target });
    const { address } = await this.worker.waitFor('proxy', 1, 10000, (e) => e.id === id);
    const command = async (cmd: string): Promise<void> => {
      const seen = this.worker.of('done').filter((e) => e.id === id && e.cmd === cmd).length;
      this.worker.send({ cmd, id });
      await this.worker.waitFor('done', seen + 1, 10000, (e) => e.id === id && e.cmd === cmd);
    };
    return { address: String(address), blackhole: () => command('blackhole'), heal: () => command('heal'), close: () => command('close') };
  }

  async close(): Promise<void> {
    await this.worker.kill();
  }
}
