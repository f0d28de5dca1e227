import { type ErrorBody, ErrorCode, type FieldError } from '@parking-realtime/protocol';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { toFieldErrors } from '@parking-realtime/runtime';

/** An error meant for the client: a status, a stable code and a human message. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly errors?: FieldError[],
  ) {
    super(message);
  }
}

/**
 * For a Redis call's `.catch()`: the failure is logged as `what` and answered
 * 503 `redis_unavailable` with `message` (the client should retry), never 500.
 */
export function redisUnavailable(request: FastifyRequest, what: string, message: string): (err: unknown) => never {
  return (err) => {
    request.log.warn({ err: { message: (err as Error).message } }, what);
    throw new HttpError(503, ErrorCode.redisUnavailable, message);
  };
}

/** Fastify's own client errors, under our codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCode.unsupportedMediaType,
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCode.bodyTooLarge,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCode.emptyBody,
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCode.malformedJson,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCode.invalidContentLength,
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The error code a schema validation failure on this route answers with. Default `invalid_request`. */
    validationErrorCode?: ErrorCode;
  }
}

/**
 * Every error leaves as `{code, message, errors?}`: HttpErrors as they are,
 * schema failures as 400 with field errors, Fastify's client errors under our
 * codes, and anything else as a 500 that reveals nothing.
 */
export function installErrorHandler(app: FastifyInstance, onRefused?: (status: number, code: ErrorCode) => void): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    let status: number;
    let body: ErrorBody & { code: ErrorCode };
    if (err instanceof HttpError) {
      status = err.statusCode;
      body = { code: err.code, message: err.message, ...(err.errors ? { errors: err.errors } : {}) };
    } else if (err.validation) {
      status = 400;
      const errors = toFieldErrors(err.validation);
      const code = request.routeOptions.config.validationErrorCode ?? ErrorCode.invalidRequest;
      body = { code, message: `Invalid ${err.validationContext ?? 'request'}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors };
    } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      body = { code: FASTIFY_CODES[err.code] ?? ErrorCode.badRequest, message: err.message };
    } else {
      request.log.error({ err }, 'unhandled error');
      status = 500;
      body = { code: ErrorCode.internal, message: 'Internal error' };
    }
    if (status >= 400 && status < 500) {
      request.log.info({ code: body.code, status }, 'request refused');
      onRefused?.(status, body.code);
    }
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ code: ErrorCode.notFound, message: `No route for ${request.method} ${request.url.split('?')[0]}` }),
  );
}
