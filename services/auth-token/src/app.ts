import { healthRoutes, installErrorHandler, loggerOptions, type Redis, registerJwt, TokenStore } from '@parking-realtime/server';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { AuthTokenConfig } from './config.js';
import { wsTokenRoute } from './ws-token-route.js';

export interface AuthTokenDeps {
  redis: Redis;
  /** Where logs go; stdout by default. Tests pass a stream to read them. */
  logStream?: DestinationStream;
}

export async function buildAuthTokenApp(config: AuthTokenConfig, deps: AuthTokenDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { ...loggerOptions('auth-token', config.logLevel), ...(deps.logStream ? { stream: deps.logStream } : {}) },
    bodyLimit: 16 * 1024,
  });
  installErrorHandler(app);
  await registerJwt(app, config.jwt);
  wsTokenRoute(app, new TokenStore(deps.redis, config.wsTokenTtlSeconds), config.jwt.userClaim);
  healthRoutes(app, { redis: deps.redis });
  return app;
}
