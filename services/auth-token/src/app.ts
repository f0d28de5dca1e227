import { prepareStreamReads, type RedisClient, TokenStore } from '@parking-realtime/redis';
import { fastifyLoggerOptions } from '@parking-realtime/runtime';
import { countAuthFailures, createServiceMetrics, healthRoutes, installErrorHandler, metricsRoute, registerHttpSecurity, registerJwt, registerOpenApi, type ServiceMetrics } from '@parking-realtime/server';
import { Counter } from 'prom-client';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { AuthTokenConfig, JwksConfig } from './config.js';
import { demoLoginRoute } from './demo-login-route.js';
import { type JwksKeys, jwksKeys } from './jwks-keys.js';
import { notificationsRoute } from './notifications-route.js';
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
    description:
      "Exchanges the main application's JWT for a short-lived, single-use WebSocket token, and serves the user's notifications from history. The wire contract: docs/protocol.md.",
    securitySchemes: ['userJwt'],
  });
  await registerHttpSecurity(app, config.corsOrigins);
  installErrorHandler(app, countAuthFailures(metrics));
  const jwks = config.jwt.jwks && userJwks(app, config.jwt.jwks, metrics);
  await registerJwt(app, { ...config.jwt, key: jwks ? jwks.resolve : (config.jwt.key as string) });
  const limits = await registerTokenRateLimits(app, deps.redis, config.rateLimits);
  wsTokenRoute(app, new TokenStore(deps.redis, config.wsTokenTtlSeconds), limits, config.jwt.userClaim, () => tokensIssued.inc());
  // Here, before the connection carries a command: it auto-pipelines (see prepareStreamReads).
  notificationsRoute(app, prepareStreamReads(deps.redis), limits, config.jwt.userClaim, config.historyMaxAgeSeconds);
  if (config.demoMode) demoLoginRoute(app, limits, config.demoServiceJwtSecret, config.jwt);
  healthRoutes(app, { redis: deps.redis });
  metricsRoute(app, metrics.registry);
  return app;
}

/** The keys of JWT_JWKS_URL, fetched once the app is ready (start-up waits for that fetch, never fails for it), and counted. */
function userJwks(app: FastifyInstance, config: JwksConfig, metrics: ServiceMetrics): JwksKeys {
  const fetches = new Counter({
    name: 'jwks_fetches_total',
    help: 'Requests for the JWKS (JWT_JWKS_URL) by result: ok (answered 200) or error',
    labelNames: ['result'],
    registers: [metrics.registry],
  });
  const keys = jwksKeys(config, { log: app.log, onFetch: (result) => fetches.inc({ result }) });
  app.addHook('onReady', keys.warmUp);
  return keys;
}
