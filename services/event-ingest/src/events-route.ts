import { ErrorCode, EventAccepted, NotificationEvent } from '@parking-realtime/protocol';
import { type NotificationProducer, redisUnavailable, requireScope } from '@parking-realtime/server';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';

export const PUBLISH_SCOPE = 'events:publish';

/**
 * `POST /api/events/`: 202 only once the job is stored in Redis; 400 with
 * field errors; 401/403 for auth; 503 while Redis is unreachable.
 */
export function eventsRoute(app: FastifyInstance, producer: Pick<NotificationProducer, 'send'>, onAccepted: (type: string) => void): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/events/',
    {
      schema: { body: NotificationEvent, response: { 202: EventAccepted } },
      validatorCompiler: TypeBoxValidatorCompiler,
      config: { validationErrorCode: ErrorCode.invalidEvent },
      // Auth comes before validation: an unauthenticated caller learns nothing about the schema.
      preValidation: requireScope(app, PUBLISH_SCOPE),
    },
    async (request, reply) => {
      const { id } = await producer
        .send(request.body)
        .catch(redisUnavailable(request, 'event not stored', 'The event could not be stored; try again'));
      onAccepted(request.body.type);
      request.log.info({ eventId: id, type: request.body.type }, 'event accepted');
      return reply.code(202).send({ id });
    },
  );
}
