import { portFor } from './free-port.js';
import { type RedisCluster, type RedisClusterOptions, startRedisCluster } from './redis-cluster.js';
import { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.js';
import { type ServiceName, type ServiceProcess, serviceScript, startNodeProcess } from './service-process.js';

/** Where the services find Redis. */
export type RedisChoice =
  /** A Redis already running, by URL (REDIS_URL). */
  | { url: string }
  /** A Redis Cluster already running, by its seed nodes `host:port,...` (REDIS_CLUSTER_NODES). */
  | { clusterNodes: string }
  /** A `redis-server` child, started and stopped with the services. */
  | { server: RedisServerOptions }
  /** A local Redis Cluster of `redis-server` children, started and stopped with the services. */
  | { cluster: RedisClusterOptions };

/** Every variable by which a service finds Redis; the topology sets the one it chose and drops the rest. */
const REDIS_VARIABLES = ['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_CLUSTER_NODES'] as const;

/** Starts one process of a service and resolves once its `/readyz` answers 200; `signal` aborts a start in progress. */
export type StartServiceProcess = (signal?: AbortSignal) => Promise<ServiceProcess>;

export interface TopologyOptions<P extends ServiceProcess = ServiceProcess> {
  /** Default `{ server: {} }`: a redis-server child. */
  redis?: RedisChoice;
  /** One notifier per port. */
  notifierPorts: number[];
  /** Each port fixed, or 0 for a free one, picked once. Default 0. */
  authTokenPort?: number;
  eventIngestPort?: number;
  /** Environment for every service; any Redis variable in it is replaced by the topology's Redis. */
  env: Record<string, string>;
  /** More environment for one service, over `env`. */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** A command to run each service's node under, such as `['taskset', '-c', '0']`. */
  wrapper?: string[];
  /** Extra node flags for each service, such as `--cpu-prof`. */
  nodeArgs?: string[];
  /** Copy the services' output to this process' output. Default off. */
  echo?: boolean;
  /** How long a service may take to answer 200 on /readyz. Default 30 s. */
  readyTimeoutMs?: number;
  /**
   * Runs each service from its `start` (the local stack wraps it in a
   * supervisor that restarts it); default: start it once.
   */
  run?: (start: StartServiceProcess, service: { name: ServiceName; port: number }) => Promise<P>;
}

export interface Topology<P extends ServiceProcess = ServiceProcess> {
  /** The one Redis the services use; undefined on a Redis Cluster. */
  redisUrl: string | undefined;
  /** The Redis Cluster the services use (REDIS_CLUSTER_NODES), when on one. */
  redisClusterNodes: string | undefined;
  /** The redis-server child started for `{ server }`, stopped with the topology. */
  redisServer: RedisServer | undefined;
  /** The local Redis Cluster started for `{ cluster }`, stopped with the topology. */
  redisCluster: RedisCluster | undefined;
  /** What every service was given (without PORT and `serviceEnv`). */
  env: Record<string, string>;
  authToken: P;
  notifiers: P[];
  eventIngest: P;
  /** Another process of a service, on a free port, with `env` and `extraEnv` over it; stopped with the topology. */
  startService(name: ServiceName, extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  /** SIGTERM to every service and each exit awaited, then the Redis the topology started is stopped. */
  stop(): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 30_000;

async function startRedis(choice: RedisChoice) {
  if ('url' in choice) return { redisUrl: choice.url, redisClusterNodes: undefined, redisServer: undefined, redisCluster: undefined };
  if ('clusterNodes' in choice) return { redisUrl: undefined, redisClusterNodes: choice.clusterNodes, redisServer: undefined, redisCluster: undefined };
  if ('cluster' in choice) {
    const redisCluster = await startRedisCluster(choice.cluster);
    return { redisUrl: undefined, redisClusterNodes: redisCluster.seeds, redisServer: undefined, redisCluster };
  }
  const redisServer = await startRedisServer(choice.server);
  return { redisUrl: redisServer.url, redisClusterNodes: undefined, redisServer, redisCluster: undefined };
}

/**
 * The system as local processes: Redis (given, or a redis-server child, or a
 * local Redis Cluster), auth-token, the notifiers and event-ingest, each on
 * its port and ready once its `/readyz` answers 200 (Redis reachable). A
 * start that fails stops whatever it had started.
 */
export async function startTopology<P extends ServiceProcess = ServiceProcess>(options: TopologyOptions<P>): Promise<Topology<P>> {
  const services: ServiceProcess[] = [];
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  const stop = async () => {
    await Promise.all(services.map((s) => s.kill('SIGTERM')));
    await (redis?.redisServer ?? redis?.redisCluster)?.stop();
  };
  try {
    // Ports first: a service whose port is taken would seem ready through whatever holds it.
    const planned: Array<{ name: ServiceName; port: number }> = [
      { name: 'auth-token', port: await portFor(options.authTokenPort ?? 0, 'auth-token') },
      { name: 'event-ingest', port: await portFor(options.eventIngestPort ?? 0, 'event-ingest') },
    ];
    for (const port of options.notifierPorts) planned.push({ name: 'notifier', port: await portFor(port, 'notifier') });

    redis = await startRedis(options.redis ?? { server: {} });
    // A REDIS_URL or REDIS_CLUSTER_NODES left in the caller's environment must not send a service elsewhere.
    const env = Object.fromEntries(Object.entries(options.env).filter(([key]) => !(REDIS_VARIABLES as readonly string[]).includes(key)));
    Object.assign(env, redis.redisClusterNodes !== undefined ? { REDIS_CLUSTER_NODES: redis.redisClusterNodes } : { REDIS_URL: redis.redisUrl! });

    const starter =
      (name: ServiceName, port: number, extraEnv: Record<string, string>): StartServiceProcess =>
      (signal) =>
        startNodeProcess({
          name,
          script: serviceScript(name),
          env: { ...env, ...extraEnv, PORT: String(port) },
          timeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
          echo: options.echo ?? false,
          // Ready when /readyz says so (Redis reachable), whatever LOG_LEVEL hides.
          readyWhen: { port, path: '/readyz' },
          ...(options.wrapper ? { wrapper: options.wrapper } : {}),
          ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
          ...(signal ? { signal } : {}),
        });
    const run = options.run ?? ((start) => start() as Promise<P>);
    const started = await Promise.allSettled(planned.map(({ name, port }) => run(starter(name, port, options.serviceEnv?.[name] ?? {}), { name, port })));
    for (const result of started) if (result.status === 'fulfilled') services.push(result.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [authToken, eventIngest, ...notifiers] = services as [P, P, ...P[]];
    const { redisUrl, redisClusterNodes, redisServer, redisCluster } = redis;
    return {
      redisUrl,
      redisClusterNodes,
      redisServer,
      redisCluster,
      env,
      authToken,
      notifiers,
      eventIngest,
      async startService(name, extraEnv = {}) {
        const port = await portFor(0, name);
        const service = await starter(name, port, extraEnv)();
        services.push(service);
        return service;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
