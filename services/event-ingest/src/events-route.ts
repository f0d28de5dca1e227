import { ErrorCode, EventAccepted, NotificationEvent } from '@parking-realtime/protocol';
import { eventErrors, type NotificationProducer } from '@parking-realtime/producer';
import { described, errorResponse, redisUnavailable, requireScope } from '@parking-realtime/server';
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
      schema: {
        summary: 'Sends a notification event: to `user_ids`, or to every subscriber of its type',
        description:
          'Stored in Redis before the 202. The same `id` again within DEDUPE_TTL_SECONDS is delivered once. `data` may nest at most 32 levels of objects and arrays (MAX_DATA_DEPTH), which the schema cannot say.',
        security: [{ serviceJwt: [PUBLISH_SCOPE] }],
        body: NotificationEvent,
        response: {
          202: described(EventAccepted, 'Stored: it will be published. `id` is the given one, or one chosen for it'),
          400: errorResponse('`invalid_event` with field errors in `errors`; `malformed_json` or `empty_body` for a body that is not JSON'),
          401: errorResponse('The service JWT is missing, malformed, expired or wrongly signed (`auth_*`)'),
          403: errorResponse("`auth_forbidden`: the JWT's `scope` lacks `events:publish`"),
          413: errorResponse('`body_too_large`: past EVENTS_BODY_LIMIT_BYTES'),
          415: errorResponse('`unsupported_media_type`: the body must be `application/json`'),
          503: errorResponse('`redis_unavailable`: not stored (or not on enough replicas, QUEUE_MIN_REPLICAS); resend with the same `id`'),
        },
      },
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
