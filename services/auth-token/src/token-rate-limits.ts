import rateLimit from '@fastify/rate-limit';
import { ErrorCode } from '@parking-realtime/protocol';
import { RATE_LIMIT_PREFIX, type RedisClient } from '@parking-realtime/redis';
import { HttpError } from '@parking-realtime/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface TokenRateLimitConfig {
  /** Requests per window for one user (after their JWT is verified). */
  perUser: number;
  /** Requests per window, per route, from one client address (before the JWT is looked at). */
  perIp: number;
  windowSeconds: number;
}

export interface TokenRateLimits {
  /** Route config for a per-address limit; spread into a route's `config`. */
  byAddress: { rateLimit: { max: number; keyGenerator: (request: FastifyRequest) => string } };
  /** Counts one request of `userId`; throws 429 `rate_limited` past the limit. */
  chargeUser(request: FastifyRequest, reply: FastifyReply, userId: string): Promise<void>;
}

function tooMany(retryAfterSeconds: number): HttpError {
  return new HttpError(429, ErrorCode.rateLimited, `Too many requests: retry in ${retryAfterSeconds} s`);
}

/**
 * Limits on the token endpoint, counted in Redis so every auth-token instance
 * shares them. The per-address limit runs first, so a flood of bad JWTs costs
 * no signature checks past it. The per-address limit must allow for many users
 * behind one NAT (mobile carriers), so it is the looser of the two.
 */
export async function registerTokenRateLimits(app: FastifyInstance, redis: RedisClient, config: TokenRateLimitConfig): Promise<TokenRateLimits> {
  // The per-user key is known only once the JWT is verified, so the route hands it over here.
  const userOf = new WeakMap<FastifyRequest, string>();
  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: RATE_LIMIT_PREFIX,
    // Redis down: let the request through; the token store then answers 503 on its own.
    skipOnError: true,
    timeWindow: config.windowSeconds * 1000,
    max: config.perUser,
    keyGenerator: (request) => `user:${userOf.get(request)}`,
    errorResponseBuilder: (_request, context) => tooMany(Math.ceil(context.ttl / 1000)),
  });
  // Without options, createRateLimit() uses the settings above and the keys `pr:rate:user:<id>`.
  const userLimiter = app.createRateLimit();
  return {
    byAddress: { rateLimit: { max: config.perIp, keyGenerator: (request) => `ip:${request.ip}` } },
    async chargeUser(request, reply, userId) {
      userOf.set(request, userId);
      const result = await userLimiter(request);
      if (result.isAllowed || !result.isExceeded) return;
      reply.header('retry-after', result.ttlInSeconds);
      throw tooMany(result.ttlInSeconds);
    },
  };
}
