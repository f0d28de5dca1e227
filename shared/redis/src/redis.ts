import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '@parking-realtime/runtime';
import type { Logger } from '@parking-realtime/runtime';

/** A connection to one Redis or to a Redis Cluster: the commands are the same; keys of one call must share a slot. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** Name shown in CLIENT LIST and logs. */
  name: string;
  logger?: Logger;
  /**
   * Fail commands at once while disconnected instead of queueing them.
   * Producers want this so a caller learns of an outage now (and can answer 503).
   */
  failFast?: boolean;
  /** Required by BullMQ workers, whose blocking commands must not time out. */
  maxRetriesPerRequest?: number | null;
  /**
   * Send the commands issued in one event-loop turn in one write (ioredis
   * auto-pipelining): for connections that make many small independent calls
   * under load, such as the token endpoint's.
   */
  autoPipelining?: boolean;
  /** Counts this connection's reconnect attempts, labelled with its name (redis_reconnects_total). */
  reconnects?: { inc(labels: { connection: string }): void };
  /** On a cluster, subscribe with SSUBSCRIBE through one connection per master (sharded pub/sub). */
  shardedSubscriber?: boolean;
}

const backoff = (attempt: number) => Math.min(50 * 2 ** attempt, 2000);

/**
 * A connection that reconnects forever with capped backoff and logs its state
 * changes: a `Redis` for a URL, a `Cluster` for seed nodes. A cluster client
 * never auto-pipelines: during a failover ioredis fails whole auto-pipelines
 * whose slots it meanwhile mapped to other nodes ("All keys in the pipeline
 * should belong to the same slots allocation group"), again and again, where
 * single commands follow MOVED and wait the failover out.
 */
export function createRedis(target: string | { url: string }, options: RedisConnectionOptions): Redis;
export function createRedis(target: RedisTarget, options: RedisConnectionOptions): RedisClient;
export function createRedis(target: RedisTarget | string, options: RedisConnectionOptions): RedisClient {
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 3 : options.maxRetriesPerRequest,
    retryStrategy: backoff,
    lazyConnect: false,
    enableAutoPipelining: options.autoPipelining ?? false,
  };
  const redis: RedisClient =
    typeof target === 'string' || 'url' in target
      ? new Redis(typeof target === 'string' ? target : target.url, redisOptions)
      : new Cluster(target.clusterNodes, {
          redisOptions: { connectionName: options.name, maxRetriesPerRequest: redisOptions.maxRetriesPerRequest },
          enableOfflineQueue: !options.failFast,
          enableAutoPipelining: false,
          clusterRetryStrategy: backoff,
          // A failover takes the cluster a few seconds; commands wait it out rather than fail at once.
          retryDelayOnFailover: 200,
          retryDelayOnClusterDown: 200,
          retryDelayOnTryAgain: 200,
          shardedSubscribers: options.shardedSubscriber ?? false,
        });
  const { reconnects } = options;
  if (reconnects) redis.on('reconnecting', () => reconnects.inc({ connection: options.name }));
  const log = options.logger?.child({ redis: options.name });
  if (log) {
    redis.on('ready', () => log.info('redis ready'));
    redis.on('reconnecting', (delay: number) => log.warn({ delay }, 'redis reconnecting'));
    redis.on('error', (err: Error) => log.warn({ err: { message: err.message } }, 'redis error'));
  } else {
    // An 'error' without a listener would crash the process; the retry strategy handles it.
    redis.on('error', () => {});
  }
  return redis;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitUntilReady(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

export type { Cluster, Redis };

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis.isCluster;
}
