import { type Static, type TObject, type TProperties, Type } from 'typebox';
import { Value } from 'typebox/value';

/** Thrown at start-up when an environment variable is missing or wrong; the message names it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Secrets used when none are given outside production, so `npm start` works out of the box. */
export const DEV_SECRETS = {
  JWT_SECRET: 'dev-only-jwt-secret-change-me-0123456789',
  SERVICE_JWT_SECRET: 'dev-only-service-jwt-secret-change-me-01',
} as const;

export const NodeEnvSchema = Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
  default: 'development',
});

export const LogLevelSchema = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
  { default: 'info' },
);

/**
 * OpenTelemetry tracing (tracing.ts; docs/observability.md).
 * Off unless the endpoint is set. The exporter also reads the other standard
 * OTEL_EXPORTER_OTLP_* variables (headers, a traces-only endpoint), and the
 * SDK OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG.
 */
export const tracingEnv = {
  /** OTLP/HTTP collector, e.g. http://otel-collector:4318 (spans go to its /v1/traces). Unset: no tracing. */
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://\\S+$' })),
  /** The `service.name` of this process's spans. Default: the service's own name (auth-token, notifier, event-ingest). */
  OTEL_SERVICE_NAME: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
};

/** Variables every service reads. Defaults are stated where declared. */
export const commonEnv = {
  NODE_ENV: NodeEnvSchema,
  /** Interface to listen on. Default 0.0.0.0. */
  HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  LOG_LEVEL: LogLevelSchema,
  /** Full Redis URL (redis:// or rediss://); wins over REDIS_HOST/REDIS_PORT. */
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** As in the original guide. Default 127.0.0.1. */
  REDIS_HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  /** Default 6379. */
  REDIS_PORT: Type.Integer({ default: 6379, minimum: 1, maximum: 65535 }),
  /**
   * Seed nodes of a Redis Cluster, `host:port,host:port,...`; set, it wins
   * over REDIS_URL and every connection is a cluster client.
   */
  REDIS_CLUSTER_NODES: Type.Optional(Type.String({ pattern: '^[^,:\\s]+:[0-9]{1,5}(,[^,:\\s]+:[0-9]{1,5})*$' })),
  ...tracingEnv,
};

export const port = (fallback: number) => Type.Integer({ default: fallback, minimum: 0, maximum: 65535 });

/**
 * Reads only the variables `properties` declares from `env`, applies defaults,
 * converts strings to the declared types, and throws a ConfigError naming every
 * bad variable. Empty strings count as unset, as shells and compose files produce them.
 */
export function loadEnv<P extends TProperties>(
  properties: P,
  env: NodeJS.ProcessEnv = process.env,
): Static<TObject<P>> {
  const schema = Type.Object(properties, { additionalProperties: false });
  const raw: Record<string, string> = {};
  for (const key of Object.keys(properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  // Default and Convert may change their argument in place; keep `raw` as given for the message.
  const value = Value.Convert(schema, Value.Default(schema, { ...raw }));
  if (!Value.Check(schema, value)) {
    const problems = Value.Errors(schema, value).map((e) => {
      const name = e.instancePath.replace(/^\//, '') || String((e.params as { requiredProperties?: string[] }).requiredProperties ?? 'environment');
      const given = name in raw ? ` (got ${JSON.stringify(raw[name])})` : '';
      return `${name}: ${e.message}${given}`;
    });
    throw new ConfigError(`Invalid environment: ${[...new Set(problems)].join('; ')}`);
  }
  return value as Static<TObject<P>>;
}

/** The Redis URL from REDIS_URL, or built from REDIS_HOST and REDIS_PORT. */
export function redisUrlFrom(env: { REDIS_URL?: string | undefined; REDIS_HOST: string; REDIS_PORT: number }): string {
  return env.REDIS_URL ?? `redis://${env.REDIS_HOST}:${env.REDIS_PORT}`;
}

/** Where Redis is: one server by URL, or a Redis Cluster by its seed nodes. */
export type RedisTarget = { url: string } | { clusterNodes: Array<{ host: string; port: number }> };

type RedisEnv = { REDIS_URL?: string | undefined; REDIS_HOST: string; REDIS_PORT: number; REDIS_CLUSTER_NODES?: string | undefined };

/** The Redis the environment names: REDIS_CLUSTER_NODES, else REDIS_URL, else REDIS_HOST and REDIS_PORT. */
export function redisTargetFrom(env: RedisEnv): RedisTarget {
  if (!env.REDIS_CLUSTER_NODES) return { url: redisUrlFrom(env) };
  const clusterNodes = env.REDIS_CLUSTER_NODES.split(',').map((node) => {
    const at = node.lastIndexOf(':');
    const port = Number(node.slice(at + 1));
    if (!(port >= 1 && port <= 65535)) throw new ConfigError(`Invalid environment: REDIS_CLUSTER_NODES: bad port in ${JSON.stringify(node)}`);
    return { host: node.slice(0, at), port };
  });
  return { clusterNodes };
}

/** Redis URL without its password, for logs. */
export function safeRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** The target for logs: a URL without its password, or the seed nodes. */
export function describeRedisTarget(target: RedisTarget): string {
  if ('url' in target) return safeRedisUrl(target.url);
  return `cluster ${target.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

/**
 * A secret from the environment, or the development default outside
 * production. Production refuses both a missing secret and the dev default.
 */
export function requireSecret(
  name: keyof typeof DEV_SECRETS,
  value: string | undefined,
  nodeEnv: Static<typeof NodeEnvSchema>,
): { secret: string; isDevDefault: boolean } {
  if (nodeEnv === 'production') {
    if (!value) throw new ConfigError(`Invalid environment: ${name} is required when NODE_ENV=production`);
    if (value === DEV_SECRETS[name]) {
      throw new ConfigError(`Invalid environment: ${name} is the development default, refused when NODE_ENV=production`);
    }
  }
  return value ? { secret: value, isDevDefault: false } : { secret: DEV_SECRETS[name], isDevDefault: true };
}

/** A secret for HS256 should carry at least 256 bits; SimpleJWT's default key is longer still. */
export const SecretSchema = Type.Optional(Type.String({ minLength: 32 }));
