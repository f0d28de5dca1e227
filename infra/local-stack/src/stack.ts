import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { portFor, type RedisChoice, type RedisCluster, startTopology, type Topology } from '@parking-realtime/launcher';
import { type NginxProcess, startNginx } from './nginx-process.js';
import type { NginxLimits } from './nginx-config.js';
import { type RestartPolicy, type SupervisedService, type SupervisorEvent, supervise } from './supervisor.js';

/** The built demo page, served at / when it exists (`npm run build` makes it). */
export const DEMO_DIST = fileURLToPath(new URL('../../../clients/demo/dist/', import.meta.url));

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
  redisCluster: RedisCluster | undefined;
  url: string;
  /** Each service, restarted when it dies; `kill()` on one stops it for good. */
  authToken: SupervisedService;
  notifiers: SupervisedService[];
  eventIngest: SupervisedService;
  nginx: NginxProcess;
  stop(): Promise<void>;
}

/** Where the services find Redis, from the options (at most one of the three). */
function redisChoice(options: StackOptions): RedisChoice {
  const given = [options.redisUrl, options.redisClusterNodes, options.redisCluster].filter((o) => o !== undefined);
  if (given.length > 1) throw new Error('at most one of redisUrl, redisClusterNodes and redisCluster');
  if (options.redisUrl !== undefined) return { url: options.redisUrl };
  if (options.redisClusterNodes !== undefined) return { clusterNodes: options.redisClusterNodes };
  if (options.redisCluster !== undefined) {
    return { cluster: { masters: options.redisCluster, replicasPerMaster: 1, nodeTimeoutMs: LOCAL_CLUSTER_NODE_TIMEOUT_MS } };
  }
  return { server: { appendonly: true } };
}

/**
 * The deployed topology as local processes: Redis, auth-token, the notifiers,
 * event-ingest (the launcher's topology), and nginx in front on one port. A
 * service that dies is restarted on its port (supervisor.ts) while the others
 * keep serving. `stop()` ends all of it, a service being restarted included.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  let topology: Topology<SupervisedService> | undefined;
  let nginx: NginxProcess | undefined;
  // Together: nginx lets its proxied sockets finish while the notifiers close them.
  const stop = async () => {
    await Promise.all([nginx?.stop(), topology?.stop()]);
  };
  try {
    const nginxPort = await portFor(options.nginxPort, 'nginx');
    topology = await startTopology({
      redis: redisChoice(options),
      authTokenPort: options.authTokenPort,
      eventIngestPort: options.eventIngestPort,
      notifierPorts: options.notifierPorts,
      env: {
        ...options.env,
        NODE_ENV: options.env.NODE_ENV ?? 'development',
        // nginx is the one proxy in front and reaches the services over loopback:
        // auth-token's rate limits count the address it forwards from there.
        TRUST_PROXY: options.env.TRUST_PROXY ?? '127.0.0.1',
      },
      echo: options.echo ?? false,
      readyTimeoutMs: SERVICE_READY_TIMEOUT_MS,
      run: (start, service) =>
        supervise({
          start,
          ...(options.restartPolicy ? { policy: options.restartPolicy } : {}),
          onEvent: (event) => options.onServiceEvent?.(service, event),
        }),
    });
    const { authToken, eventIngest, notifiers } = topology;
    nginx = await startNginx({
      port: nginxPort,
      authToken: [authToken.port],
      eventIngest: [eventIngest.port],
      notifiers: notifiers.map((n) => n.port),
      ...(existsSync(`${DEMO_DIST}index.html`) ? { demoRoot: DEMO_DIST } : {}),
      ...(options.nginxLimits ? { limits: options.nginxLimits } : {}),
    });
    const { redisUrl, redisClusterNodes, redisCluster } = topology;
    return { redisUrl, redisClusterNodes, redisCluster, url: nginx.url, authToken, notifiers, eventIngest, nginx, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
