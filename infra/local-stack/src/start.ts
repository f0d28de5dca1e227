import { ConfigError } from '@parking-realtime/runtime';
import { type Stack, startStack } from './stack.js';
import { loadStackConfig } from './stack-config.js';
import type { SupervisorEvent } from './supervisor.js';

/**
 * `npm start`: the whole topology as local processes behind nginx, with the
 * caller's environment passed to every service. A service that dies is
 * restarted on its port while the others keep serving. Ctrl-C or SIGTERM
 * stops all of it; a second one stops at once.
 */
let config: ReturnType<typeof loadStackConfig>;
try {
  config = loadStackConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

let starting: Promise<Stack> | undefined;
let stopping = false;
async function stop(code: number): Promise<never> {
  if (stopping) {
    // Asked twice: every child is SIGKILLed by its exit hook.
    console.error('stopping at once');
    process.exit(code || 1);
  }
  stopping = true;
  console.error('\nstopping the stack…');
  // A stack still starting is stopped once it is up (or has failed and stopped itself).
  const stack = await starting?.catch(() => undefined);
  await stack?.stop();
  process.exit(code);
}
// Every child (a service, each Redis Cluster node) adds an exit listener that kills it: 18 nodes with REDIS_CLUSTER=9.
process.setMaxListeners(64);
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// `npm start` runs this under `sh -c`, and a SIGTERM sent to npm ends that shell without
// reaching this process: once the parent is gone, stop rather than run on orphaned.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent && !stopping) void stop(0);
}, 500).unref();

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One line for each death and restart. */
function describe(service: { name: string; port: number }, event: SupervisorEvent): string {
  const who = `${service.name} on :${service.port}`;
  switch (event.type) {
    case 'died':
      return `${who} died (${event.code ?? event.signal}, pid ${event.pid}); restarting it in ${seconds(event.restartInMs)}, the others keep serving`;
    case 'restarted':
      return `${who} is back (pid ${event.pid}), ${seconds(event.downMs)} after it died (restart ${event.restarts})`;
    case 'restart-failed':
      return `${who} did not come back (${event.error.message.split('\n')[0]}); trying again in ${seconds(event.restartInMs)}`;
  }
}

if (!process.env.JWT_SECRET || !process.env.SERVICE_JWT_SECRET) {
  console.error('JWT_SECRET or SERVICE_JWT_SECRET not set: the services use development secrets (refused with NODE_ENV=production).');
}
try {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  // The local stack is for trying things: the demo login is on unless asked otherwise (never in production).
  if (env.DEMO_MODE === undefined && env.NODE_ENV !== 'production') env.DEMO_MODE = '1';
  starting = startStack({
    redisUrl: config.redisUrl,
    redisClusterNodes: config.redisClusterNodes,
    redisCluster: config.redisCluster,
    authTokenPort: config.authTokenPort,
    notifierPorts: config.notifierPorts,
    eventIngestPort: config.eventIngestPort,
    nginxPort: config.nginxPort,
    nginxLimits: config.nginxLimits,
    env,
    echo: true,
    onServiceEvent: (service, event) => {
      if (!stopping) console.error(describe(service, event));
    },
  });
  const s = await starting;
  const redis = s.redisCluster
    ? `REDIS_CLUSTER_NODES=${s.redisClusterNodes} (redis-server children: ${config.redisCluster} masters, 1 replica each)`
    : s.redisClusterNodes
      ? `REDIS_CLUSTER_NODES=${s.redisClusterNodes}`
      : `${s.redisUrl}${config.redisUrl ? '' : ' (redis-server child)'}`;
  const l = config.nginxLimits;
  if (!stopping) console.error(
    [
      '',
      `parking-realtime is running on ${s.url.replace('127.0.0.1', 'localhost')}`,
      `  demo page          ${s.url}/${env.DEMO_MODE === '1' ? '   (DEMO_MODE=1: demo login on)' : ''}`,
      `  ws token           GET  ${s.url}/api/user/ws-token/   (Authorization: Bearer <JWT>)`,
      `  notifications      ws://127.0.0.1:${s.nginx.port}/ws/notifications/?token=<ws_token>`,
      `  events             POST ${s.url}/api/events/          (Authorization: Bearer <service JWT>)`,
      `  Redis              ${redis}`,
      `  behind nginx:      ${[s.authToken, ...s.notifiers, s.eventIngest].map((p) => `${p.name} :${p.port} (pid ${p.pid})`).join(', ')}`,
      '  each service also answers /healthz, /readyz and /metrics on its own port; one that dies is restarted there',
      `  nginx limits       /api/user/ ${l.apiRate} burst ${l.apiBurst}, ${l.apiConnectionsPerAddress} /api/ connections, ` +
        `upgrades ${l.wsUpgradeRate} burst ${l.wsUpgradeBurst}, ${l.socketsPerAddress} sockets per address (NGINX_* variables)`,
      `  nginx config       ${s.nginx.configPath}`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (err) {
  if (!stopping) {
    console.error(`the stack could not start: ${(err as Error).message}`);
    await stop(1);
  }
}
