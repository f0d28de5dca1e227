import { ConfigError, commonEnv, loadEnv, port } from '@parking-realtime/runtime';
import { Type } from 'typebox';
import { loadNginxLimits, type NginxLimits } from './nginx-config.js';

/** Variables of the local stack itself; the services' own variables pass through to them. */
export const stackEnv = {
  /** Use this Redis instead of starting a redis-server child. */
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /**
   * Use this Redis Cluster (its seed nodes, `host:port,...`) instead of
   * starting one; wins over REDIS_URL, as it does in every service.
   */
  REDIS_CLUSTER_NODES: commonEnv.REDIS_CLUSTER_NODES,
  /** Start a local Redis Cluster of this many masters (3 to 9), one replica each, instead of one redis-server. */
  REDIS_CLUSTER: Type.Optional(Type.Integer({ minimum: 3, maximum: 9 })),
  /** Port of auth-token. Default 8001. */
  AUTH_TOKEN_PORT: port(8001),
  /** Ports of the notifiers, comma-separated; one notifier per port. Default 8002,8004. */
  NOTIFIER_PORTS: Type.String({ default: '8002,8004', pattern: '^\\d{1,5}(,\\d{1,5})*$' }),
  /** Port of event-ingest. Default 8003. */
  EVENT_INGEST_PORT: port(8003),
  /** Port of nginx, the one entry point. Default 8000. */
  NGINX_PORT: port(8000),
};

export interface StackConfig {
  redisUrl: string | undefined;
  redisClusterNodes: string | undefined;
  /** Masters of the local Redis Cluster to start, when REDIS_CLUSTER is set. */
  redisCluster: number | undefined;
  authTokenPort: number;
  notifierPorts: number[];
  eventIngestPort: number;
  nginxPort: number;
  /** nginx's per-address limits, from the NGINX_* variables compose's nginx reads too (nginxLimitsEnv in nginx-config.ts). */
  nginxLimits: NginxLimits;
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const e = loadEnv(stackEnv, env);
  if (e.REDIS_CLUSTER !== undefined) {
    // Starting a cluster while being pointed at another Redis is a mistake either way round; say so rather than pick one.
    const other = e.REDIS_CLUSTER_NODES !== undefined ? 'REDIS_CLUSTER_NODES' : e.REDIS_URL !== undefined ? 'REDIS_URL' : undefined;
    if (other) throw new ConfigError(`Invalid environment: REDIS_CLUSTER starts a local Redis Cluster, ${other} names an existing Redis: set one of them`);
  }
  return {
    redisUrl: e.REDIS_CLUSTER_NODES === undefined ? e.REDIS_URL : undefined,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    redisCluster: e.REDIS_CLUSTER,
    authTokenPort: e.AUTH_TOKEN_PORT,
    notifierPorts: e.NOTIFIER_PORTS.split(',').map(Number),
    eventIngestPort: e.EVENT_INGEST_PORT,
    nginxPort: e.NGINX_PORT,
    nginxLimits: loadNginxLimits(env),
  };
}
