import {
  freePort,
  type ServiceName,
  serviceScript,
  startNodeProcess,
  startRedis,
  startRedisCluster,
  type TestRedis,
  type TestRedisCluster,
} from '@parking-realtime/testing';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type NginxProcess, startNginx } from './nginx-process.js';
import type { NginxLimits } from './nginx-config.js';
import { type RestartPolicy, type SupervisedService, type SupervisorEvent, supervise } from './supervisor.js';

/** The built demo page, served at / when it exists (`npm run build` makes it). */
export const DEMO_DIST = fileURLToPath(new URL('../../../clients/demo/dist/', import.meta.url));

/** Every variable by which a service finds Redis; the stack sets the one it chose and drops the rest. */
const REDIS_VARIABLES = ['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_CLUSTER_NODES'] as const;

/**
 * How long a local cluster's master may be unreachable before its replica
 * takes over: longer than the fault tests' 1 s, so a busy laptop does not
 * fail over by accident, short enough to try a failover by hand.
 */
const LOCAL_CLUSTER_NODE_TIMEOUT_MS = 5000;

/** How long a service may take to answer 200 on /readyz, at start and after a restart. */
const SERVICE_READY_TIMEOUT_MS = 30_000;

export interface StackOptions {
  /**
   * Use this Redis instead of starting a redis-server child. At most one of
   * redisUrl, redisClusterNodes and redisCluster; none: a redis-server child.
   */
  redisUrl?: string | undefined;
  /** Use this Redis Cluster, by its seed nodes (`host:port,...`, as REDIS_CLUSTER_NODES). */
  redisClusterNodes?: string | undefined;
  /** Start a local Redis Cluster of this many masters, one replica each (redis-server children). */
  redisCluster?: number | undefined;
  /** The services' ports; 0 picks a free one, once, so that a restarted service comes back where nginx sends it. */
  authTokenPort: number;
  notifierPorts: number[];
  eventIngestPort: number;
  nginxPort: number;
  /** Environment for every service (the caller's, in `npm start`). */
  env: Record<string, string>;
  /** nginx's per-address limits, where a test needs them small. */
  nginxLimits?: Partial<NginxLimits>;
  /** Copy the services' logs to this process' output. */
  echo?: boolean;
  /** How a service that dies is restarted (DEFAULT_RESTART_POLICY otherwise). */
  restartPolicy?: Partial<RestartPolicy>;
  /** Called when a service dies, is back, or fails to come back, while the stack is up. */
  onServiceEvent?: (service: { name: string; port: number }, event: SupervisorEvent) => void;
}

export interface Stack {
  /** The one Redis the services use; undefined on a Redis Cluster. */
  redisUrl: string | undefined;
  /** The Redis Cluster the services use (REDIS_CLUSTER_NODES), when on one. */
  redisClusterNodes: string | undefined;
  /** The local Redis Cluster the stack started (`redisCluster`), stopped with it. */
  redisCluster: TestRedisCluster | undefined;
  url: string;
  /** Each service, restarted when it dies; `kill()` on one stops it for good. */
  authToken: SupervisedService;
  notifiers: SupervisedService[];
  eventIngest: SupervisedService;
  nginx: NginxProcess;
  stop(): Promise<void>;
}

/** Fails, naming the port and what wanted it, when something already listens there. */
function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`${what}: port ${port} is ${err.code === 'EADDRINUSE' ? 'in use (another stack still running?)' : `not usable (${err.code})`}`)),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** The port to use: the one asked for once it is known to be free, or a free one for 0. */
async function portFor(requested: number, what: string): Promise<number> {
  if (requested === 0) return freePort();
  await assertPortFree(requested, what);
  return requested;
}

/**
 * The deployed topology as local processes: Redis, auth-token, the notifiers,
 * event-ingest, and nginx in front on one port. A service that dies is
 * restarted on its port (supervisor.ts) while the others keep serving.
 * `stop()` ends all of it, a service being restarted included.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  let redis: TestRedis | TestRedisCluster | undefined;
  const services: SupervisedService[] = [];
  let nginx: NginxProcess | undefined;
  const stop = async () => {
    // Together: nginx lets its proxied sockets finish while the notifiers close them.
    await Promise.all([nginx?.stop(), ...services.map((s) => s.kill('SIGTERM'))]);
    await redis?.stop();
  };
  try {
    // Ports first: a service whose port is taken would seem ready through whatever holds it.
    const nginxPort = await portFor(options.nginxPort, 'nginx');
    const planned: Array<{ name: ServiceName; port: number }> = [
      { name: 'auth-token', port: await portFor(options.authTokenPort, 'auth-token') },
      { name: 'event-ingest', port: await portFor(options.eventIngestPort, 'event-ingest') },
    ];
    for (const port of options.notifierPorts) planned.push({ name: 'notifier', port: await portFor(port, 'notifier') });

    const given = [options.redisUrl, options.redisClusterNodes, options.redisCluster].filter((o) => o !== undefined);
    if (given.length > 1) throw new Error('at most one of redisUrl, redisClusterNodes and redisCluster');
    let redisUrl = options.redisUrl;
    let redisClusterNodes = options.redisClusterNodes;
    let redisCluster: TestRedisCluster | undefined;
    if (options.redisCluster !== undefined) {
      redisCluster = await startRedisCluster({
        masters: options.redisCluster,
        replicasPerMaster: 1,
        nodeTimeoutMs: LOCAL_CLUSTER_NODE_TIMEOUT_MS,
      });
      redis = redisCluster;
      redisClusterNodes = redisCluster.seeds;
    } else if (redisUrl === undefined && redisClusterNodes === undefined) {
      redis = await startRedis({ appendonly: true });
      redisUrl = redis.url;
    }
    // A REDIS_URL or REDIS_CLUSTER_NODES left in the caller's environment must not send a service elsewhere.
    const baseEnv = Object.fromEntries(Object.entries(options.env).filter(([key]) => !(REDIS_VARIABLES as readonly string[]).includes(key)));
    const redisEnv: Record<string, string> = redisClusterNodes !== undefined ? { REDIS_CLUSTER_NODES: redisClusterNodes } : { REDIS_URL: redisUrl! };
    const env = (port: number) => ({
      ...baseEnv,
      ...redisEnv,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: options.env.NODE_ENV ?? 'development',
      // nginx is the one proxy in front and reaches the services over loopback:
      // auth-token's rate limits count the address it forwards from there.
      TRUST_PROXY: options.env.TRUST_PROXY ?? '127.0.0.1',
    });
    const echo = options.echo ?? false;
    const started = await Promise.allSettled(
      planned.map(({ name, port }) =>
        supervise({
          // Ready when /readyz says so (Redis reachable), whatever LOG_LEVEL hides.
          start: (signal) =>
            startNodeProcess({
              name,
              script: serviceScript(name),
              env: env(port),
              timeoutMs: SERVICE_READY_TIMEOUT_MS,
              echo,
              readyWhen: { port, path: '/readyz' },
              signal,
            }),
          ...(options.restartPolicy ? { policy: options.restartPolicy } : {}),
          onEvent: (event) => options.onServiceEvent?.({ name, port }, event),
        }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') services.push(result.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [authToken, eventIngest, ...notifiers] = services as [SupervisedService, SupervisedService, ...SupervisedService[]];
    nginx = await startNginx({
      port: nginxPort,
      authToken: [authToken.port],
      eventIngest: [eventIngest.port],
      notifiers: notifiers.map((n) => n.port),
      ...(existsSync(`${DEMO_DIST}index.html`) ? { demoRoot: DEMO_DIST } : {}),
      ...(options.nginxLimits ? { limits: options.nginxLimits } : {}),
    });
    return { redisUrl, redisClusterNodes, redisCluster, url: nginx.url, authToken, notifiers, eventIngest, nginx, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
