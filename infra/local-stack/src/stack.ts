import {
  type ServiceProcess,
  startRedis,
  startRedisCluster,
  startService,
  type TestRedis,
  type TestRedisCluster,
} from '@parking-realtime/testing';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type NginxProcess, startNginx } from './nginx-process.js';
import type { NginxLimits } from './nginx-config.js';

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
  /** Called when a service exits while the stack is up. */
  onServiceExit?: (service: ServiceProcess, code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface Stack {
  /** The one Redis the services use; undefined on a Redis Cluster. */
  redisUrl: string | undefined;
  /** The Redis Cluster the services use (REDIS_CLUSTER_NODES), when on one. */
  redisClusterNodes: string | undefined;
  /** The local Redis Cluster the stack started (`redisCluster`), stopped with it. */
  redisCluster: TestRedisCluster | undefined;
  url: string;
  authToken: ServiceProcess;
  notifiers: ServiceProcess[];
  eventIngest: ServiceProcess;
  nginx: NginxProcess;
  stop(): Promise<void>;
}

/**
 * The deployed topology as local processes: Redis, auth-token, the notifiers,
 * event-ingest, and nginx in front on one port. `stop()` ends all of it.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  let redis: TestRedis | TestRedisCluster | undefined;
  const services: ServiceProcess[] = [];
  let nginx: NginxProcess | undefined;
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await nginx?.stop();
    await Promise.all(services.map((s) => s.kill('SIGTERM')));
    await redis?.stop();
  };
  try {
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
    const started = await Promise.all([
      startService('auth-token', env(options.authTokenPort), 30_000, echo),
      startService('event-ingest', env(options.eventIngestPort), 30_000, echo),
      ...options.notifierPorts.map((p) => startService('notifier', env(p), 30_000, echo)),
    ]);
    for (const service of started) services.push(service);
    const [authToken, eventIngest, ...notifiers] = started as [ServiceProcess, ServiceProcess, ...ServiceProcess[]];
    for (const service of started) {
      void service.exited.then(({ code, signal }) => {
        if (!stopping) options.onServiceExit?.(service, code, signal);
      });
    }
    nginx = await startNginx({
      port: options.nginxPort,
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
