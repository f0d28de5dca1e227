import {
  countAuthFailures,
  createServiceMetrics,
  healthRoutes,
  installErrorHandler,
  fastifyLoggerOptions,
  metricsRoute,
  type Redis,
  registerHttpSecurity,
  registerJwt,
  type ServiceMetrics,
  TokenStore,
} from '@parking-realtime/server';
import { Counter } from 'prom-client';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { AuthTokenConfig } from './config.js';
import { demoLoginRoute } from './demo-login-route.js';
import { wsTokenRoute } from './ws-token-route.js';

export interface AuthTokenDeps {
  redis: Redis;
  /** Where logs go; stdout by default. Tests pass a stream to read them. */
  logStream?: DestinationStream;
  metrics?: ServiceMetrics;
}

export async function buildAuthTokenApp(config: AuthTokenConfig, deps: AuthTokenDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: fastifyLoggerOptions('auth-token', config.logLevel, deps.logStream),
    bodyLimit: 16 * 1024,
  });
  const metrics = deps.metrics ?? createServiceMetrics('auth-token');
  const tokensIssued = new Counter({
    name: 'ws_tokens_issued_total',
    help: 'WebSocket tokens issued',
    registers: [metrics.registry],
  });
  await registerHttpSecurity(app, config.corsOrigins);
  installErrorHandler(app, countAuthFailures(metrics));
  await registerJwt(app, config.jwt);
  wsTokenRoute(app, new TokenStore(deps.redis, config.wsTokenTtlSeconds), config.jwt.userClaim, () => tokensIssued.inc());
  if (config.demoMode) demoLoginRoute(app, config.demoServiceJwtSecret);
  healthRoutes(app, { redis: deps.redis });
  metricsRoute(app, metrics.registry);
  return app;
}
