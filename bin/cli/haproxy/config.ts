/** What a ready haproxy.cfg for a zk-ha service needs to know. */
export interface HaproxyConfigOptions {
  /** Where clients connect, e.g. "127.0.0.1:8080" or ":8080". */
  readonly bind: string;
  /** The admin socket the bridge talks to. */
  readonly socket: string;
  readonly backend: string;
  readonly mode: 'primary-backup' | 'redundant';
  /** HAProxy's check interval while a server is up, ms. Default 1000. */
  readonly interMs?: number;
  /** Check interval while a server changes state or is down, ms. Default 100. */
  readonly fastInterMs?: number;
  /** Extra lines for the global section (tests: logging, pidfile). */
  readonly globalExtra?: readonly string[];
}

/** Check settings of the servers the bridge adds: fast detection, sessions shut when marked down, a dead server out at its first refused connection. */
export function defaultServerOptions(interMs = 1000, fastInterMs = 100): string {
  // observe layer4 + error-limit 1 + on-error mark-down: the first refused connection to a member
  // that died takes it out at once, instead of after `fall` failed checks.
  return `inter ${interMs} fastinter ${fastInterMs} downinter ${fastInterMs} rise 1 fall 2 on-marked-down shutdown-sessions observe layer4 error-limit 1 on-error mark-down`;
}

/**
 * A complete haproxy.cfg for one zk-ha service (docs/haproxy.md explains each line). The backend
 * starts empty: `zk-ha haproxy` adds and removes its servers through the admin socket. ws passes
 * through `mode http` (HAProxy switches to a tunnel after the upgrade; `timeout tunnel` bounds an
 * idle one — keep it above the client's heartbeat interval).
 */
export function renderHaproxyConfig(o: HaproxyConfigOptions): string {
  const inter = o.interMs ?? 1000;
  const fast = o.fastInterMs ?? 100;
  const check = o.mode === 'primary-backup' ? '/primary' : '/readyz';
  return [
    'global',
    `  stats socket ${o.socket} mode 600 level admin`,
    '  stats timeout 10s',
    ...(o.globalExtra ?? []).map((l) => `  ${l}`),
    '',
    'defaults',
    '  mode http',
    // Every retry may go to another server: no turn-around wait (min(timeout connect, 1 s)) on a dead one.
    '  option redispatch 1',
    '  retries 2',
    '  timeout connect 500ms',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    '  timeout check 500ms',
    '',
    `frontend ${o.backend}_in`,
    `  bind ${o.bind}`,
    `  default_backend ${o.backend}`,
    '',
    `backend ${o.backend}`,
    '  balance roundrobin',
    `  # 200 only on the lease-holding primary (primary/backup) or a ready member (redundant)`,
    `  option httpchk GET ${check}`,
    '  http-check expect status 200',
    '  # servers: added and removed by `zk-ha haproxy <service> --socket ... --backend ' + o.backend + '`',
    `  # with the check settings of its --server-options (default: ${defaultServerOptions(inter, fast)})`,
    '  # (servers added at run time take nothing from default-server)',
    '',
  ].join('\n');
}
