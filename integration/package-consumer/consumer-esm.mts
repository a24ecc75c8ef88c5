// The same API seen from an ES module (the "import" condition and its .d.mts).
import { HaServer, HaClient, readJournal } from 'zk-ha';
import type { HaServerRole } from 'zk-ha';
import { ZkSession, Election } from 'zk-ha/blocks';

const server = new HaServer({ zk: { connect: '127.0.0.1:2181' }, service: 'esm', mode: 'redundant' });
const role: HaServerRole = server.role;
const client = new HaClient({ zk: new ZkSession({ connect: '127.0.0.1:2181' }), service: 'esm', balancer: 'round-robin' });
export const used = [role, client, typeof readJournal, typeof Election] as const;
