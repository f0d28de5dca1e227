import { ErrorCode, WsTokenResponse, WsTokensRevoked } from '@parking-realtime/protocol';
import { disconnectedAt, issuedBeforeDisconnect, type RedisClient, type TokenStore } from '@parking-realtime/redis';
import { described, errorResponse, HttpError, redisUnavailable, verifyJwt } from '@parking-realtime/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { userIdFromClaims } from './access-token-claims.js';
import type { TokenRateLimits } from './token-rate-limits.js';

const TOKEN_STORE_DOWN = 'token store unreachable';
const TRY_AGAIN = 'Tokens are unavailable right now; try again';

// For the OpenAPI document: what each refusal means (docs/protocol.md has the codes).
const BAD_JWT = 'The JWT is missing, malformed, expired, wrongly signed or lacks a claim it needs (an `auth_*` code)';
const refusals = {
  429: errorResponse('`rate_limited`: past the per-address or per-user limit; `Retry-After` says when to try again'),
  503: errorResponse(
    "Something it needs is unreachable for now (`redis_unavailable`: the token store; `jwks_unavailable`: the JWKS holding the JWT's key, with `JWT_JWKS_URL`); try again",
  ),
};

/** `GET /api/user/ws-token/`: the app's JWT in, a short-lived single-use WebSocket token out; and revocation. */
export function wsTokenRoute(
  app: FastifyInstance,
  tokens: TokenStore,
  limits: TokenRateLimits,
  userClaim: string,
  onIssued: () => void,
): void {
  app.get(
    '/api/user/ws-token/',
    {
      schema: {
        summary: 'A short-lived, single-use WebSocket token for the user of the JWT',
        security: [{ userJwt: [] }],
        response: {
          200: described(WsTokenResponse, 'The token, to use once within `expires_in` seconds (`WS_TOKEN_TTL_SECONDS`)'),
          401: errorResponse(`${BAD_JWT}, or was issued before its user was disconnected (\`auth_revoked\`)`),
          ...refusals,
        },
      },
      config: limits.byAddress,
    },
    async (request, reply) => {
      const claims = await verifyJwt(app, request);
      const userId = userIdFromClaims(claims, userClaim);
      await limits.chargeUser(request, reply, userId);
      await refuseIfDisconnectedSince(tokens.redis, request, userId, claims.iat);
      const { token, expiresIn } = await tokens.issue(userId).catch(redisUnavailable(request, TOKEN_STORE_DOWN, TRY_AGAIN));
      onIssued();
      request.log.info({ userId }, 'ws token issued');
      reply.header('cache-control', 'no-store');
      return { ws_token: token, expires_in: expiresIn };
    },
  );

  // `POST /api/user/ws-token/revoke`: the user's outstanding ws tokens stop working (on logout, or a leak).
  const revokeSchema = {
    summary: "Revokes the user's outstanding WebSocket tokens (on logout, or a leak)",
    security: [{ userJwt: [] }],
    response: { 200: described(WsTokensRevoked, 'How many tokens were revoked'), 401: errorResponse(BAD_JWT), ...refusals },
  };
  app.post('/api/user/ws-token/revoke', { schema: revokeSchema, config: limits.byAddress }, async (request) => {
    const userId = userIdFromClaims(await verifyJwt(app, request), userClaim);
    const revoked = await tokens.revokeAll(userId).catch(redisUnavailable(request, TOKEN_STORE_DOWN, TRY_AGAIN));
    request.log.info({ userId, revoked }, 'ws tokens revoked');
    return { revoked };
  });
}


/**
 * A user disconnected (logout, ban) after their JWT was issued gets no new ws
 * token with it: the disconnect sticks until the main app issues a newer JWT.
 */
async function refuseIfDisconnectedSince(redis: RedisClient, request: FastifyRequest, userId: string, iat: unknown): Promise<void> {
  const mark = await disconnectedAt(redis, userId).catch(redisUnavailable(request, TOKEN_STORE_DOWN, TRY_AGAIN));
  if (issuedBeforeDisconnect(typeof iat === 'number' ? iat * 1000 : undefined, mark)) {
    throw new HttpError(401, ErrorCode.authRevoked, 'This token was issued before the user was disconnected; sign in again');
  }
}
