/** What happened. Cluster-wide kinds (see JOURNALED) also go to the ZooKeeper journal. */
export type FaultKind =
  | 'failover'            // a new primary serves; durationMs = unavailability measured by the reporter
  | 'elected'             // this member became primary
  | 'demoted'             // this member stopped being primary (detail.reason)
  | 'member-joined'
  | 'member-left'
  | 'session-suspended'
  | 'session-lost'        // the ZooKeeper session expired (told, or by the local timer)
  | 'session-rejoined'    // a new session replaced a lost one; durationMs = time without a session
  | 'endpoint-down'       // transport: connection to an endpoint died
  | 'endpoint-ejected'    // passive health: ejected for detail.forMs
  | 'endpoint-recovered'  // a probe call re-admitted it
  | 'service-missing'     // a client's start() waits for a service node that does not exist yet (detail.path), once per wait
  | 'rejected-input'      // a bad frame, bad znode data or bad option value, refused with a typed error
  | 'transport'           // a transport event that is not bad input: overload, a handler failure, a slow reader
  | 'stale-epoch'         // a response from an epoch below the client's verified fence was refused (FENCED)
  | 'generation-changed'  // the service node was recreated (new czxid): epochs restart, so does the client's fence
  | 'record-restored'     // this member's record in ZooKeeper had been overwritten by another writer; it wrote its own back
  | 'start-failed'        // start() gave up: detail.code / detail.message say why; everything it opened is released
  | 'zookeeper-error'     // an unexpected ZooKeeper error outside start() (e.g. QUOTA_EXCEEDED while re-registering)
  | 'isr-shrunk'          // replicated state: the primary removed backups that did not acknowledge (detail.removed)
  | 'isr-expanded'        // replicated state: a caught-up backup joined the in-sync set again (detail.added)
  | 'isr-unavailable'     // replicated state: elected but not in sync; no in-sync member serves, the service waits
  | 'replication';        // replicated state: snapshots, truncations, refused stale ops, peer errors (detail.what)

export interface FaultReport {
  readonly kind: FaultKind;
  readonly service: string;
  /** Member id concerned (the reporter's own, or the remote endpoint's). */
  readonly member: string | undefined;
  /** Wall-clock time (ms since the epoch) — for humans and journals. */
  readonly at: number;
  readonly durationMs: number | undefined;
  readonly detail: Readonly<Record<string, unknown>>;
}

