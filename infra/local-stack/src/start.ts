import { ConfigError } from '@parking-realtime/server';
import { type Stack, startStack } from './stack.js';
import { loadStackConfig } from './stack-config.js';

/**
 * `npm start`: the whole topology as local processes behind nginx, with the
 * caller's environment passed to every service. Ctrl-C or SIGTERM stops all of it.
 */
let config: ReturnType<typeof loadStackConfig>;
try {
  config = loadStackConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

let stack: Stack | undefined;
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.error('\nstopping the stack…');
    await stack?.stop();
  }
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
  if (process.ppid !== parent) void stop(0);
}, 500).unref();

if (!process.env.JWT_SECRET || !process.env.SERVICE_JWT_SECRET) {
  console.error('JWT_SECRET or SERVICE_JWT_SECRET not set: the services use development secrets (refused with NODE_ENV=production).');
}
try {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  // The local stack is for trying things: the demo login is on unless asked otherwise (never in production).
  if (env.DEMO_MODE === undefined && env.NODE_ENV !== 'production') env.DEMO_MODE = '1';
  stack = await startStack({
    redisUrl: config.redisUrl,
    redisClusterNodes: config.redisClusterNodes,
    redisCluster: config.redisCluster,
    authTokenPort: config.authTokenPort,
    notifierPorts: config.notifierPorts,
    eventIngestPort: config.eventIngestPort,
    nginxPort: config.nginxPort,
    env,
    echo: true,
    onServiceExit: (service, code, signal) => {
      console.error(`${service.name} on :${service.port} exited (${code ?? signal}); stopping the stack`);
      void stop(1);
    },
  });
  const s = stack;
  const redis = s.redisCluster
    ? `REDIS_CLUSTER_NODES=${s.redisClusterNodes} (redis-server children: ${config.redisCluster} masters, 1 replica each)`
    : s.redisClusterNodes
      ? `REDIS_CLUSTER_NODES=${s.redisClusterNodes}`
      : `${s.redisUrl}${config.redisUrl ? '' : ' (redis-server child)'}`;
  console.error(
    [
      '',
      `parking-realtime is running on ${s.url.replace('127.0.0.1', 'localhost')}`,
      `  demo page          ${s.url}/${env.DEMO_MODE === '1' ? '   (DEMO_MODE=1: demo login on)' : ''}`,
      `  ws token           GET  ${s.url}/api/user/ws-token/   (Authorization: Bearer <JWT>)`,
      `  notifications      ws://127.0.0.1:${s.nginx.port}/ws/notifications/?token=<ws_token>`,
      `  events             POST ${s.url}/api/events/          (Authorization: Bearer <service JWT>)`,
      `  Redis              ${redis}`,
      `  behind nginx:      auth-token :${s.authToken.port}, notifiers ${s.notifiers.map((n) => `:${n.port}`).join(' ')}, event-ingest :${s.eventIngest.port}`,
      '  each service also answers /healthz, /readyz and /metrics on its own port',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (err) {
  console.error(`the stack could not start: ${(err as Error).message}`);
  await stop(1);
}
