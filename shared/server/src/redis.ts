import { Redis, type RedisOptions } from 'ioredis';
import type { Counter } from 'prom-client';
import type { Logger } from './logger.js';

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
  reconnects?: Counter<'connection'>;
}

/** A Redis connection that reconnects forever with capped backoff and logs its state changes. */
export function createRedis(url: string, options: RedisConnectionOptions): Redis {
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 3 : options.maxRetriesPerRequest,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: false,
    enableAutoPipelining: options.autoPipelining ?? false,
  };
  const redis = new Redis(url, redisOptions);
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
export async function waitUntilReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
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

export type { Redis };
