import { DisconnectUserResponse, ErrorCode, UserId } from '@parking-realtime/protocol';
import { disconnectUser, type RedisClient } from '@parking-realtime/redis';
import { described, errorResponse, redisUnavailable, requireScope } from '@parking-realtime/server';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';

export const DISCONNECT_SCOPE = 'users:disconnect';

const DisconnectBody = Type.Object({ user_id: UserId }, { additionalProperties: false });

/**
 * `POST /internal/users/disconnect` (service JWT with `users:disconnect`; not
 * routed by nginx): for logout and bans, closes every socket of a user on
 * every notifier and makes it stick (see `disconnectUser`). Answers what it did.
 */
export function disconnectRoute(app: FastifyInstance, redis: RedisClient): void {
  app.post<{ Body: Static<typeof DisconnectBody> }>(
    '/internal/users/disconnect',
    {
      schema: {
        summary: "Closes every socket of a user on every notifier (4003) and makes it stick (logout, ban); not routed by nginx",
        security: [{ serviceJwt: [DISCONNECT_SCOPE] }],
        body: DisconnectBody,
        response: {
          200: described(DisconnectUserResponse, 'Done: what it did'),
          400: errorResponse('`invalid_request` with field errors in `errors`; `malformed_json` or `empty_body` for a body that is not JSON'),
          401: errorResponse('The service JWT is missing, malformed, expired or wrongly signed (`auth_*`)'),
          403: errorResponse("`auth_forbidden`: the JWT's `scope` lacks `users:disconnect`"),
          503: errorResponse('`redis_unavailable`: nothing was done; try again'),
        },
      },
      validatorCompiler: TypeBoxValidatorCompiler,
      config: { validationErrorCode: ErrorCode.invalidRequest },
      preValidation: requireScope(app, DISCONNECT_SCOPE),
    },
    async (request) => {
      const result = await disconnectUser(redis, String(request.body.user_id)).catch(
        redisUnavailable(request, 'user disconnect not sent', 'Redis is unreachable; try again'),
      );
      request.log.info({ userId: result.user_id, revokedTokens: result.revoked_tokens, notifiers: result.notifiers }, 'user disconnected');
      return result;
    },
  );
}
