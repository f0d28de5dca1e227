import { UserId } from '@parking-realtime/protocol';
import { disconnectUser, type RedisClient, redisUnavailable, requireScope } from '@parking-realtime/server';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';

export const DISCONNECT_SCOPE = 'users:disconnect';

const DisconnectBody = Type.Object({ user_id: UserId }, { additionalProperties: false });

/**
 * `POST /internal/users/disconnect` (service JWT with `users:disconnect`; not
 * routed by nginx): closes every socket of a user on every notifier, for
 * logout and bans. Answers how many notifiers heard it.
 */
export function disconnectRoute(app: FastifyInstance, redis: RedisClient): void {
  app.post<{ Body: Static<typeof DisconnectBody> }>(
    '/internal/users/disconnect',
    {
      schema: { body: DisconnectBody },
      validatorCompiler: TypeBoxValidatorCompiler,
      config: { validationErrorCode: 'invalid_request' },
      preValidation: requireScope(app, DISCONNECT_SCOPE),
    },
    async (request) => {
      const notifiers = await disconnectUser(redis, String(request.body.user_id)).catch(
        redisUnavailable(request, 'user disconnect not sent', 'Redis is unreachable; try again'),
      );
      request.log.info({ userId: request.body.user_id, notifiers }, 'user disconnect sent');
      return { notifiers };
    },
  );
}
