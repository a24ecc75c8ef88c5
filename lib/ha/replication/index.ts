export { Replication } from './replication';
export type { ReplicationOptions, ReplicationFault, ReplicationHost } from './replication';
export type { ReplicatedState } from './replica';
export { ReplicatedCall } from './replicated-call';
export type { HaCallContext, HaHandler } from './replicated-call';
export { REPL_PREFIX } from './protocol';
