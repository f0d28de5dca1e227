import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const NGINX_DIR = fileURLToPath(new URL('../../nginx/', import.meta.url));
export const TEMPLATE_PATH = `${NGINX_DIR}nginx.conf.template`;
export const COMPOSE_CONFIG_PATH = `${NGINX_DIR}nginx.compose.conf`;

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

/** Where one deployment's nginx finds its upstreams and files. */
export interface NginxTarget {
  listen: string;
  authToken: string[];
  eventIngest: string[];
  notifiers: string[];
  /** Appended to every upstream `server` line (compose: `resolve`, so scaled replicas are found). */
  serverParameters?: string;
  /** A `resolver` directive, for targets whose upstream names change. */
  resolver?: string;
  pidFile: string;
  errorLog: string;
  accessLog: string;
  tempDir: string;
  mimeTypes: string;
  demoRoot: string;
  limits: NginxLimits;
}

/** The compose deployment: service names on the compose network, Docker's DNS re-read every 5 s. */
export const COMPOSE_TARGET: NginxTarget = {
  listen: '8000',
  authToken: ['auth-token:8001'],
  eventIngest: ['event-ingest:8003'],
  notifiers: ['notifier:8002'],
  serverParameters: 'resolve',
  resolver: 'resolver 127.0.0.11 valid=5s ipv6=off;',
  pidFile: '/tmp/nginx.pid',
  errorLog: '/dev/stderr',
  accessLog: '/dev/stdout',
  tempDir: '/tmp',
  mimeTypes: '/etc/nginx/mime.types',
  demoRoot: '/usr/share/nginx/html',
  limits: DEFAULT_NGINX_LIMITS,
};

/** Fills the one template for a target; every placeholder must be filled. */
export function renderNginxConfig(target: NginxTarget, template = readFileSync(TEMPLATE_PATH, 'utf8')): string {
  const servers = (addresses: string[]) =>
    addresses.map((a) => `        server ${a}${target.serverParameters ? ` ${target.serverParameters}` : ''};`).join('\n');
  const values: Record<string, string> = {
    LISTEN: target.listen,
    AUTH_TOKEN_SERVERS: servers(target.authToken),
    EVENT_INGEST_SERVERS: servers(target.eventIngest),
    NOTIFIER_SERVERS: servers(target.notifiers),
    RESOLVER: target.resolver ? `    ${target.resolver}` : '',
    PID_FILE: target.pidFile,
    ERROR_LOG: target.errorLog,
    ACCESS_LOG: target.accessLog,
    TEMP_DIR: target.tempDir,
    MIME_TYPES: target.mimeTypes,
    DEMO_ROOT: target.demoRoot,
    API_RATE: target.limits.apiRate,
    API_BURST: String(target.limits.apiBurst),
    API_CONNECTIONS: String(target.limits.apiConnectionsPerAddress),
    WS_UPGRADE_RATE: target.limits.wsUpgradeRate,
    WS_UPGRADE_BURST: String(target.limits.wsUpgradeBurst),
    WS_SOCKETS: String(target.limits.socketsPerAddress),
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template: no value for {{${name}}}`);
    return value;
  });
}
