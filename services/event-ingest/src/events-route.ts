import { ErrorCode, EventAccepted, NotificationEvent } from '@parking-realtime/protocol';
import { eventErrors, type NotificationProducer, redisUnavailable, requireScope } from '@parking-realtime/server';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';

export const PUBLISH_SCOPE = 'events:publish';

/**
 * The body is checked by `eventErrors`, the very check the producer makes:
 * the schema, and `data`'s depth (MAX_DATA_DEPTH), which no schema can say.
 * Its field errors leave as any schema failure does: 400 with the route's
 * `validationErrorCode`, through the error handler.
 */
const eventBodyCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  if (route.httpPart !== 'body') return TypeBoxValidatorCompiler(route);
  return (value: unknown) => {
    const errors = eventErrors(value);
    if (errors.length === 0) return { value };
    return {
      error: errors.map((e) => ({
        keyword: 'event',
        instancePath: e.path === '/' ? '' : e.path,
        schemaPath: '#',
        params: {},
        message: e.message,
      })),
    };
  };
};

/**
 * `POST /api/events/`: 202 only once the job is stored in Redis; 400 with
 * field errors (`data` nested past MAX_DATA_DEPTH and more than MAX_USER_IDS
 * user_ids included); 401/403 for auth; 503 while Redis is unreachable.
 */
export function eventsRoute(app: FastifyInstance, producer: Pick<NotificationProducer, 'send'>, onAccepted: (type: string) => void): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/events/',
    {
      schema: { body: NotificationEvent, response: { 202: EventAccepted } },
      validatorCompiler: eventBodyCompiler,
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
