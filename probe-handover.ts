import { startZooKeeper } from './integration/harness';
import { Election, Membership } from './lib/coordination';
import { ZkSession } from './lib/zk';

async function main(): Promise<void> {
  const zk = await startZooKeeper({ nodes: 3 });
  try {
    for (const standby of [true, false, true, false]) {
      const root = `/p${Date.now()}`;
      const sessions: ZkSession[] = [];
      const mk = async (id: string) => {
        const s = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 10000 });
        sessions.push(s);
        await s.start();
        const m = new Membership(s, { service: 'svc', mode: 'primary-backup', root, record: { id, url: `ws://127.0.0.1:1/${id}` } });
        const e = new Election(s, m, { leaseMs: 500, standby });
        e.on('error', () => undefined);
        e.start();
        await m.register();
        return e;
      };
      const es = [await mk('a')];
      await new Promise((r) => setTimeout(r, 1500));
      es.push(await mk('b'), await mk('c'));
      const times: number[] = [];
      for (let t = 0; t < 15; t++) {
        await new Promise((r) => setTimeout(r, 400));
        const leader = es.find((e) => e.isLeader());
        if (!leader) { times.push(NaN); continue; }
        const t0 = performance.now();
        const elected = new Promise<number>((resolve) => { for (const e of es) if (e !== leader) e.once('elected', () => resolve(performance.now() - t0)); });
        await leader.resign({ rejoin: true });
        times.push(await elected);
        for (const e of es) e.removeAllListeners('elected');
      }
      const st = es.reduce((n, e) => n + e.stats.standbyHandovers, 0);
      const sorted = [...times].sort((x, y) => x - y);
      console.log(`standby=${standby} handovers by standby ${st}: p50 ${sorted[7]!.toFixed(1)} max ${sorted[14]!.toFixed(1)} :: ${sorted.map((x) => x.toFixed(1)).join(' ')}`);
      for (const e of es) e.stop();
      await Promise.all(sessions.map((s) => s.close()));
    }
  } finally {
    await zk.close();
  }
}
void main();
