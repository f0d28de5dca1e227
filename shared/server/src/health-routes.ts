import { ErrorCode } from '@parking-realtime/protocol';
import type { FastifyInstance } from 'fastify';
import type { RedisClient } from './redis.js';

export interface ReadinessChecks {
  redis: RedisClient;
  /** Further checks by name; each answers whether that part is ready. */
  extra?: Record<string, () => boolean>;
}

/** `GET /healthz`: the process is alive. `GET /readyz`: it can do its job (Redis reachable, and the extras). */
export function healthRoutes(app: FastifyInstance, checks: ReadinessChecks): void {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const results: Record<string, boolean> = { redis: checks.redis.status === 'ready' };
    for (const [name, check] of Object.entries(checks.extra ?? {})) results[name] = check();
    const ready = Object.values(results).every(Boolean);
    if (!ready) {
      return reply.code(503).send({ code: ErrorCode.redisUnavailable, message: 'Not ready', checks: results });
    }
    return { status: 'ready', checks: results };
  });
}
