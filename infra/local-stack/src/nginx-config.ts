import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadEnv } from '@parking-realtime/runtime';
import { Type } from 'typebox';

export const NGINX_DIR = fileURLToPath(new URL('../../nginx/', import.meta.url));
export const TEMPLATE_PATH = `${NGINX_DIR}nginx.conf.template`;
export const COMPOSE_CONFIG_PATH = `${NGINX_DIR}nginx.compose.conf`;
/**
 * The compose rendering with `${NGINX_…}` in place of each limit: baked into
 * the edge image, whose entrypoint (infra/nginx/edge-entrypoint.sh) fills it
 * from the environment into /etc/nginx/nginx.conf at start.
 */
export const COMPOSE_TEMPLATE_PATH = `${NGINX_DIR}nginx.compose.conf.template`;

/**
 * Per-address limits at the edge. They only stop one address from swamping the
 * services, so they are sized for many users behind one NAT address (mobile
 * carriers, campus Wi-Fi), each needing about one token request and one socket.
 * auth-token's per-user limit is the fine-grained one.
 */
export interface NginxLimits {
  /** Requests to /api/user/ from one address (nginx rate: `50r/s`, `1r/m`), and the burst allowed past it. */
  apiRate: string;
  apiBurst: number;
  /** Concurrent /api/ connections from one address. */
  apiConnectionsPerAddress: number;
  /** WebSocket upgrades from one address (nginx rate), and the burst allowed past it. */
  wsUpgradeRate: string;
  wsUpgradeBurst: number;
  /** Open WebSockets from one address. */
  socketsPerAddress: number;
}

export const DEFAULT_NGINX_LIMITS: NginxLimits = {
  apiRate: '50r/s',
  apiBurst: 200,
  apiConnectionsPerAddress: 256,
  wsUpgradeRate: '50r/s',
  wsUpgradeBurst: 500,
  socketsPerAddress: 2000,
};

/** The variable that sets each limit, the same for `npm start` and for compose's nginx. */
export const NGINX_LIMIT_VARIABLES = {
  apiRate: 'NGINX_API_RATE',
  apiBurst: 'NGINX_API_BURST',
  apiConnectionsPerAddress: 'NGINX_API_CONNECTIONS_PER_ADDRESS',
  wsUpgradeRate: 'NGINX_WS_UPGRADE_RATE',
  wsUpgradeBurst: 'NGINX_WS_UPGRADE_BURST',
  socketsPerAddress: 'NGINX_SOCKETS_PER_ADDRESS',
} as const satisfies Record<keyof NginxLimits, string>;

/** An nginx request rate: whole requests per second or per minute. */
const rate = (fallback: string) => Type.String({ default: fallback, pattern: '^[1-9][0-9]{0,8}r/[sm]$' });
const count = (fallback: number, minimum: number) => Type.Integer({ default: fallback, minimum, maximum: 1_000_000 });

/**
 * The limits' variables, validated as every service's are. Compose's nginx
 * checks the same rules in `infra/nginx/15-check-limits.sh`.
 */
export const nginxLimitsEnv = {
  /** Requests/s (`50r/s`) or /min (`30r/m`) to /api/user/ from one address. Default 50r/s. */
  NGINX_API_RATE: rate(DEFAULT_NGINX_LIMITS.apiRate),
  /** Requests to /api/user/ allowed at once past that rate. Default 200. */
  NGINX_API_BURST: count(DEFAULT_NGINX_LIMITS.apiBurst, 0),
  /** Concurrent /api/ connections from one address. Default 256. */
  NGINX_API_CONNECTIONS_PER_ADDRESS: count(DEFAULT_NGINX_LIMITS.apiConnectionsPerAddress, 1),
  /** WebSocket upgrades/s or /min from one address. Default 50r/s. */
  NGINX_WS_UPGRADE_RATE: rate(DEFAULT_NGINX_LIMITS.wsUpgradeRate),
  /** Upgrades allowed at once past that rate. Default 500. */
  NGINX_WS_UPGRADE_BURST: count(DEFAULT_NGINX_LIMITS.wsUpgradeBurst, 0),
  /** Open WebSockets from one address. Default 2000. */
  NGINX_SOCKETS_PER_ADDRESS: count(DEFAULT_NGINX_LIMITS.socketsPerAddress, 1),
};

/** The limits from the environment (defaults for unset variables); bad values throw one ConfigError naming each. */
export function loadNginxLimits(env: NodeJS.ProcessEnv = process.env): NginxLimits {
  // Plain digits, as nginx reads them: loadEnv alone would take `2.5` as 2 and `1e3` as 1000.
  const notDigits = Object.keys(nginxLimitsEnv).filter(
    (name) => nginxLimitsEnv[name as keyof typeof nginxLimitsEnv].type === 'integer' && env[name] && !/^[0-9]+$/.test(env[name]!),
  );
  const problems = notDigits.map((name) => `${name}: must be a whole number (got ${JSON.stringify(env[name])})`);
  let e: ReturnType<typeof loadEnv<typeof nginxLimitsEnv>> | undefined;
  try {
    e = loadEnv(nginxLimitsEnv, { ...env, ...Object.fromEntries(notDigits.map((name) => [name, undefined])) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(err.message.replace(/^Invalid environment: /, ''));
  }
  if (!e || problems.length > 0) throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
  return {
    apiRate: e.NGINX_API_RATE,
    apiBurst: e.NGINX_API_BURST,
    apiConnectionsPerAddress: e.NGINX_API_CONNECTIONS_PER_ADDRESS,
    wsUpgradeRate: e.NGINX_WS_UPGRADE_RATE,
    wsUpgradeBurst: e.NGINX_WS_UPGRADE_BURST,
    socketsPerAddress: e.NGINX_SOCKETS_PER_ADDRESS,
  };
}

/**
 * Appended to each notifier's `server` line. A notifier that refuses a
 * connection is left out for 3 s rather than nginx's default 10 s: the
 * upgrade moves on to the next one at once (`proxy_next_upstream`), and a
 * notifier restarted by `npm start` or compose gets new sockets soon after
 * it is back. (One-server groups never leave their server out.)
 */
export const NOTIFIER_SERVER_PARAMETERS = 'max_fails=1 fail_timeout=3s';

/** Where one deployment's nginx finds its upstreams and files. */
export interface NginxTarget {
  listen: string;
  authToken: string[];
  eventIngest: string[];
  notifiers: string[];
  /**
   * Set: a DNS server (Docker's, for compose). Each service is then one name,
   * looked up as requests come and re-read as often as `resolverValid` says,
   * so nginx finds every notifier replica after `--scale` and a restarted
   * container at its new address — on any nginx: Debian's 1.22 has no
   * `resolve` on upstream servers (that came in 1.27.3). The price: each new
   * socket goes to a replica picked at random (nginx rotates the answer),
   * not the least loaded, and no keepalive to the services.
   * Unset: upstream blocks of fixed addresses, least_conn across the notifiers.
   */
  resolver?: string;
  /** How long a DNS answer is used (nginx time, `5s`); with `resolver`. */
  resolverValid?: string;
  pidFile: string;
  errorLog: string;
  accessLog: string;
  tempDir: string;
  mimeTypes: string;
  demoRoot: string;
  /** The limits' values, or `from-environment`: `${NGINX_…}` references for envsubst to fill at start. */
  limits: NginxLimits | 'from-environment';
}

/** The compose deployment: service names on the compose network, found through Docker's DNS, re-read every 5 s. */
export const COMPOSE_TARGET: NginxTarget = {
  listen: '8000',
  authToken: ['auth-token:8001'],
  eventIngest: ['event-ingest:8003'],
  notifiers: ['notifier:8002'],
  resolver: '127.0.0.11',
  resolverValid: '5s',
  pidFile: '/tmp/nginx.pid',
  errorLog: '/dev/stderr',
  accessLog: '/dev/stdout',
  tempDir: '/tmp',
  mimeTypes: '/etc/nginx/mime.types',
  demoRoot: '/usr/share/nginx/html',
  limits: DEFAULT_NGINX_LIMITS,
};

/** The compose rendering the edge image fills in at start: the same, with each limit left to its variable. */
export const COMPOSE_TEMPLATE_TARGET: NginxTarget = { ...COMPOSE_TARGET, limits: 'from-environment' };

/** The first line of each committed rendering (`npm run render:nginx` writes them). */
export const GENERATED_HEADER = '# GENERATED from nginx.conf.template by `npm run render:nginx`; do not edit.\n';

/** nginx's names of the three services: upstream blocks, or the variables that hold their addresses. */
const SERVICES = [
  { key: 'authToken', placeholder: 'AUTH_TOKEN', name: 'auth_token' },
  { key: 'eventIngest', placeholder: 'EVENT_INGEST', name: 'event_ingest' },
  { key: 'notifiers', placeholder: 'NOTIFIER', name: 'notifier' },
] as const;

/** How nginx finds the services: the ROUTING block and each location's proxy_pass. */
function routing(target: NginxTarget): Record<string, string> {
  const values: Record<string, string> = {};
  if (target.resolver) {
    values.ROUTING = [
      '    # The services are found by name as requests come (proxy_pass with a variable), through',
      `    # the DNS server at ${target.resolver}${target.resolverValid ? `, re-read every ${target.resolverValid}` : ''}: every notifier replica after \`--scale\`,`,
      '    # a restarted container at its new address. Each new socket goes to a replica picked at',
      '    # random (nginx rotates the answer); one that refuses is passed over for the next.',
      `    resolver ${target.resolver}${target.resolverValid ? ` valid=${target.resolverValid}` : ''} ipv6=off;`,
      '    resolver_timeout 2s;',
    ].join('\n');
    for (const { key, placeholder, name } of SERVICES) {
      const addresses = target[key];
      if (addresses.length !== 1) throw new Error(`nginx target with a resolver: one name per service (${key}: ${addresses.join(', ')})`);
      values[`${placeholder}_PROXY_PASS`] = [`            set $${name}_address ${addresses[0]};`, `            proxy_pass http://$${name}_address;`].join('\n');
    }
    return values;
  }
  const servers = (addresses: string[], parameters?: string) =>
    addresses.map((a) => `        server ${[a, parameters].filter(Boolean).join(' ')};`).join('\n');
  values.ROUTING = [
    '    upstream auth_token {',
    '        zone auth_token 64k;',
    servers(target.authToken),
    '        keepalive 16;',
    '    }',
    '',
    '    upstream event_ingest {',
    '        zone event_ingest 64k;',
    servers(target.eventIngest),
    '        keepalive 16;',
    '    }',
    '',
    '    # Sockets live for hours: send each new one to the notifier holding the fewest.',
    '    # A notifier that refuses a connection sits out briefly (NOTIFIER_SERVER_PARAMETERS',
    '    # in nginx-config.ts) while upgrades go to the others.',
    '    upstream notifier {',
    '        zone notifier 64k;',
    '        least_conn;',
    servers(target.notifiers, NOTIFIER_SERVER_PARAMETERS),
    '    }',
  ].join('\n');
  for (const { placeholder, name } of SERVICES) values[`${placeholder}_PROXY_PASS`] = `            proxy_pass http://${name};`;
  return values;
}

/** Fills the one template for a target; every placeholder must be filled. */
export function renderNginxConfig(target: NginxTarget, template = readFileSync(TEMPLATE_PATH, 'utf8')): string {
  const { limits } = target;
  const limit = (key: keyof NginxLimits) => (limits === 'from-environment' ? `\${${NGINX_LIMIT_VARIABLES[key]}}` : String(limits[key]));
  const values: Record<string, string> = {
    LISTEN: target.listen,
    ...routing(target),
    PID_FILE: target.pidFile,
    ERROR_LOG: target.errorLog,
    ACCESS_LOG: target.accessLog,
    TEMP_DIR: target.tempDir,
    MIME_TYPES: target.mimeTypes,
    DEMO_ROOT: target.demoRoot,
    API_RATE: limit('apiRate'),
    API_BURST: limit('apiBurst'),
    API_CONNECTIONS: limit('apiConnectionsPerAddress'),
    WS_UPGRADE_RATE: limit('wsUpgradeRate'),
    WS_UPGRADE_BURST: limit('wsUpgradeBurst'),
    WS_SOCKETS: limit('socketsPerAddress'),
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template: no value for {{${name}}}`);
    return value;
  });
}
