/** The smallest highly available service: run it two or three times; one is primary. */
import { HaServer } from '../lib';

const server = new HaServer({
  zk: { connect: process.env.ZK_CONNECT ?? '127.0.0.1:2181' },
  service: 'greeter',
  mode: 'primary-backup',
  handlers: { hello: (name: string, ctx) => `hello ${name}, from the primary of epoch ${ctx.epoch}` },
});
server.on('role', (role) => console.log('role:', role));
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
void server.start();
