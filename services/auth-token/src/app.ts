import {
  countAuthFailures,
  createServiceMetrics,
  healthRoutes,
  installErrorHandler,
  fastifyLoggerOptions,
  metricsRoute,
  type RedisClient,
  registerHttpSecurity,
  registerJwt,
  registerOpenApi,
  type ServiceMetrics,
  TokenStore,
} from '@parking-realtime/server';
import { Counter } from 'prom-client';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { AuthTokenConfig } from './config.js';
import { demoLoginRoute } from './demo-login-route.js';
import { registerTokenRateLimits } from './token-rate-limits.js';
import { wsTokenRoute } from './ws-token-route.js';

export interface AuthTokenDeps {
  redis: RedisClient;
  /** Where logs go; stdout by default. Tests pass a stream to read them. */
  logStream?: DestinationStream;
  metrics?: ServiceMetrics;
}

export async function buildAuthTokenApp(config: AuthTokenConfig, deps: AuthTokenDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: fastifyLoggerOptions('auth-token', config.logLevel, deps.logStream),
    bodyLimit: 16 * 1024,
    // Only a connection from a listed proxy may name the client (the last
    // untrusted address of X-Forwarded-For); anyone else is their socket's address.
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
  });
  const metrics = deps.metrics ?? createServiceMetrics('auth-token');
  const tokensIssued = new Counter({
    name: 'ws_tokens_issued_total',
    help: 'WebSocket tokens issued',
    registers: [metrics.registry],
  });
  await registerOpenApi(app, {
    service: 'auth-token',
    description: "Exchanges the main application's JWT for a short-lived, single-use WebSocket token. The wire contract: docs/protocol.md.",
    securitySchemes: ['userJwt'],
  });
  await registerHttpSecurity(app, config.corsOrigins);
  installErrorHandler(app, countAuthFailures(metrics));
  await registerJwt(app, config.jwt);
  const limits = await registerTokenRateLimits(app, deps.redis, config.rateLimits);
  wsTokenRoute(app, new TokenStore(deps.redis, config.wsTokenTtlSeconds), limits, config.jwt.userClaim, () => tokensIssued.inc());
  if (config.demoMode) demoLoginRoute(app, limits, config.demoServiceJwtSecret, config.jwt);
  healthRoutes(app, { redis: deps.redis });
  metricsRoute(app, metrics.registry);
  return app;
}
