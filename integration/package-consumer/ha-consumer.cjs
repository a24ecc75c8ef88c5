// A CommonJS user of the installed package: loads zk-ha and zk-ha/blocks with require() and runs
// the consumer program (ha-consumer-program.cjs) with what it got.
//   node ha-consumer.cjs client <connect> <root>        (starts the two servers itself)
//   node ha-consumer.cjs server <connect> <root> <id>
'use strict';
const { HaServer, HaClient, RpcError } = require('zk-ha');
const { ZkSession } = require('zk-ha/blocks');
const { main } = require('./ha-consumer-program.cjs');

main({ HaServer, HaClient, RpcError, ZkSession }, __filename, 'pkg-cjs');
