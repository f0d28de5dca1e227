import { DEFAULT_BATCH_WINDOW_MS, DEFAULT_DEDUPE_TTL_SECONDS } from '@parking-realtime/producer';
import { DEFAULT_QUEUE_NAME } from '@parking-realtime/redis';
import { commonEnv, ConfigError, loadEnv, port, redisTargetFrom, type RedisTarget, requireSecret, SecretSchema } from '@parking-realtime/runtime';
import { CorsOriginsSchema, parseCorsOrigins } from '@parking-realtime/server';
import { Type } from 'typebox';
import { DEFAULT_HISTORY_MAX_ENTRIES, DEFAULT_HISTORY_WINDOW_SECONDS } from './notification-publisher.js';

/** Every variable event-ingest reads; the README lists them with these defaults. */
export const eventIngestEnv = {
  ...commonEnv,
  /** Browser origins allowed to call this API cross-origin, comma-separated. Default none. */
  CORS_ORIGINS: CorsOriginsSchema,
  /** Default 8003. */
  PORT: port(8003),
  /** HS256 key for service JWTs on POST /api/events/ (claim `scope` ∋ events:publish). Dev default outside production. */
  SERVICE_JWT_SECRET: SecretSchema,
  /** Allowed clock skew for exp/nbf of service JWTs. Default 5 s. */
  JWT_CLOCK_SKEW_SECONDS: Type.Integer({ default: 5, minimum: 0, maximum: 300 }),
  /** BullMQ queue name. Default notifications. */
  QUEUE_NAME: Type.String({ default: DEFAULT_QUEUE_NAME, pattern: '^[A-Za-z0-9_-]+$' }),
  /** An event id seen again within this window is delivered once. Default 86400 s. */
  DEDUPE_TTL_SECONDS: Type.Integer({ default: DEFAULT_DEDUPE_TTL_SECONDS, minimum: 60 }),
  /**
   * 1 (default) runs the queue's worker here; 0 runs the HTTP side only. Every
   * worker takes the queue one job (one batch of events) at a time, for order.
   */
  WORKER_CONCURRENCY: Type.Integer({ default: 1, minimum: 0, maximum: 1 }),
  /** Everything published to a stream this recently stays in its history (a resume within it loses nothing). Default 120 s. */
  HISTORY_WINDOW_SECONDS: Type.Integer({ default: DEFAULT_HISTORY_WINDOW_SECONDS, minimum: 1, maximum: 86_400 }),
  /** Past this many entries, a stream drops what is older than the window. Default 100. */
  HISTORY_MAX_LENGTH: Type.Integer({ default: 100, minimum: 1, maximum: 1_000_000 }),
  /** The most entries a stream holds whatever the rate: the memory guard, sized for the window at 200 notifications/s. Default 30000. */
  HISTORY_MAX_ENTRIES: Type.Integer({ default: DEFAULT_HISTORY_MAX_ENTRIES, minimum: 100, maximum: 1_000_000 }),
  /** Entries older than this leave the history streams, and a stream expires this long after its last entry. Default 86400 s. */
  HISTORY_MAX_AGE_SECONDS: Type.Integer({ default: 86_400, minimum: 1, maximum: 30 * 86_400 }),
  /** A job whose worker stops renewing its lock this long is taken up again by another. Default 30000 ms. */
  WORKER_LOCK_MS: Type.Integer({ default: 30_000, minimum: 500, maximum: 600_000 }),
  /** Fault injection for tests: the worker pauses this long before (or after) publishing each job. Default 0; refused in production. */
  WORKER_FAULT_DELAY_MS: Type.Integer({ default: 0, minimum: 0, maximum: 600_000 }),
  /** Where the fault delay sits: before or after the publish. Default before. */
  WORKER_FAULT_PHASE: Type.Union([Type.Literal('before'), Type.Literal('after')], { default: 'before' }),
  /**
   * Under load, events accepted within this window leave as one job; an event
   * that finds the producer idle leaves at once. Default 5 ms; 0 sends a job per round trip.
   */
  EVENT_BATCH_WINDOW_MS: Type.Integer({ default: DEFAULT_BATCH_WINDOW_MS, minimum: 0, maximum: 100 }),
  /**
   * An event is answered 202 only once its job is on this many Redis replicas
   * too (WAIT), so a master lost right after cannot take it along. Default 1
   * with REDIS_CLUSTER_NODES, else 0.
   */
  QUEUE_MIN_REPLICAS: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
  /** Largest POST /api/events/ body. Default 65536 bytes. */
  EVENTS_BODY_LIMIT_BYTES: Type.Integer({ default: 65_536, minimum: 1024, maximum: 10_485_760 }),
};

export interface EventIngestConfig {
  host: string;
  port: number;
  logLevel: string;
  redis: RedisTarget;
  corsOrigins: string[];
  serviceJwt: { algorithm: 'HS256'; key: string; clockSkewSeconds: number; usingDevSecret: boolean };
  queueName: string;
  dedupeTtlSeconds: number;
  runWorker: boolean;
  historyMaxLength: number;
  historyMaxAgeSeconds: number;
  historyWindowSeconds: number;
  historyMaxEntries: number;
  workerLockMs: number;
  workerFault: { delayMs: number; phase: 'before' | 'after' } | undefined;
  bodyLimitBytes: number;
  batchWindowMs: number;
  minReplicas: number;
}

export function loadEventIngestConfig(env: NodeJS.ProcessEnv = process.env): EventIngestConfig {
  const e = loadEnv(eventIngestEnv, env);
  const secret = requireSecret('SERVICE_JWT_SECRET', e.SERVICE_JWT_SECRET, e.NODE_ENV);
  if (e.HISTORY_WINDOW_SECONDS > e.HISTORY_MAX_AGE_SECONDS) {
    throw new ConfigError('Invalid environment: HISTORY_WINDOW_SECONDS must not exceed HISTORY_MAX_AGE_SECONDS (nothing older than the maximum age is kept)');
  }
  if (e.HISTORY_MAX_LENGTH > e.HISTORY_MAX_ENTRIES) {
    throw new ConfigError('Invalid environment: HISTORY_MAX_LENGTH must not exceed HISTORY_MAX_ENTRIES (the most entries a stream holds)');
  }
  if (e.WORKER_FAULT_DELAY_MS > 0 && e.NODE_ENV === 'production') {
    throw new ConfigError('Invalid environment: WORKER_FAULT_DELAY_MS is for fault tests and refused when NODE_ENV=production');
  }
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    redis: redisTargetFrom(e),
    corsOrigins: parseCorsOrigins(e.CORS_ORIGINS),
    serviceJwt: {
      algorithm: 'HS256',
      key: secret.secret,
      clockSkewSeconds: e.JWT_CLOCK_SKEW_SECONDS,
      usingDevSecret: secret.isDevDefault,
    },
    queueName: e.QUEUE_NAME,
    dedupeTtlSeconds: e.DEDUPE_TTL_SECONDS,
    runWorker: e.WORKER_CONCURRENCY > 0,
    historyMaxLength: e.HISTORY_MAX_LENGTH,
    historyMaxAgeSeconds: e.HISTORY_MAX_AGE_SECONDS,
    historyWindowSeconds: e.HISTORY_WINDOW_SECONDS,
    historyMaxEntries: e.HISTORY_MAX_ENTRIES,
    workerLockMs: e.WORKER_LOCK_MS,
    workerFault: e.WORKER_FAULT_DELAY_MS > 0 ? { delayMs: e.WORKER_FAULT_DELAY_MS, phase: e.WORKER_FAULT_PHASE as 'before' | 'after' } : undefined,
    bodyLimitBytes: e.EVENTS_BODY_LIMIT_BYTES,
    batchWindowMs: e.EVENT_BATCH_WINDOW_MS,
    minReplicas: e.QUEUE_MIN_REPLICAS ?? (e.REDIS_CLUSTER_NODES ? 1 : 0),
  };
}
