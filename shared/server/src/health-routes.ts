import { ErrorBody, ErrorCode } from '@parking-realtime/protocol';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { isCluster, type RedisClient } from '@parking-realtime/redis';

export interface ReadinessChecks {
  redis: RedisClient;
  /** Further checks by name; each answers whether that part is ready. */
  extra?: Record<string, () => boolean>;
}

/** How long /readyz waits for a cluster's answer before calling it not ready. */
const CLUSTER_CHECK_TIMEOUT_MS = 1000;

/**
 * One Redis is ready when its connection is. A cluster is ready when the
 * client is and a node says `cluster_state:ok`: every slot served. While a
 * master is down and not yet failed over, requests to its slots fail, so a
 * load balancer should hear about it.
 */
async function redisReady(redis: RedisClient): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  if (!isCluster(redis)) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(''), CLUSTER_CHECK_TIMEOUT_MS);
  });
  const info = await Promise.race([redis.cluster('INFO').catch(() => ''), timeout]);
  clearTimeout(timer);
  return /cluster_state:ok/.test(info);
}

/** Each check by name: `redis`, and the service's extras. */
const ReadinessResults = Type.Record(Type.String(), Type.Boolean());

const healthSchema = {
  summary: 'Liveness: the process answers',
  response: { 200: Type.Object({ status: Type.Literal('ok') }, { description: 'Alive' }) },
};

const readySchema = {
  summary: 'Readiness: Redis reachable (on a cluster, `cluster_state:ok`), and the service-specific checks',
  response: {
    200: Type.Object({ status: Type.Literal('ready'), checks: ReadinessResults }, { description: 'Ready' }),
    503: Type.Object({ ...ErrorBody.properties, checks: ReadinessResults }, { description: 'Not ready (`redis_unavailable`); `checks` says which part' }),
  },
};

/** `GET /healthz`: the process is alive. `GET /readyz`: it can do its job (Redis reachable, and the extras). */
export function healthRoutes(app: FastifyInstance, checks: ReadinessChecks): void {
  app.get('/healthz', { schema: healthSchema, logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: readySchema, logLevel: 'warn' }, async (_request, reply) => {
    const results: Record<string, boolean> = { redis: await redisReady(checks.redis) };
    for (const [name, check] of Object.entries(checks.extra ?? {})) results[name] = check();
    const ready = Object.values(results).every(Boolean);
    if (!ready) {
      return reply.code(503).send({ code: ErrorCode.redisUnavailable, message: 'Not ready', checks: results });
    }
    return { status: 'ready', checks: results };
  });
}
