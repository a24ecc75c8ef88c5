// An ES module user of the installed package: named imports from 'zk-ha' and 'zk-ha/blocks', then
// the consumer program (ha-consumer-program.cjs) with what they gave.
//   node ha-consumer.mjs client <connect> <root>        (starts the two servers itself)
//   node ha-consumer.mjs server <connect> <root> <id>
import { fileURLToPath } from 'node:url';
import { HaServer, HaClient, RpcError } from 'zk-ha';
import { ZkSession } from 'zk-ha/blocks';
import program from './ha-consumer-program.cjs';

program.main({ HaServer, HaClient, RpcError, ZkSession }, fileURLToPath(import.meta.url), 'pkg-esm');
