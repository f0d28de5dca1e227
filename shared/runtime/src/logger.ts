import type { IncomingMessage } from 'node:http';
import pino, { type DestinationStream, type LoggerOptions } from 'pino';

/** Paths pino blanks in every log line: credentials must never reach a log. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'headers.authorization',
  'authorization',
  'token',
  'ws_token',
  'jwt',
];

const SECRET_QUERY_PARAMS = /([?&](?:token|ws_token|access_token|jwt)=)[^&#]*/gi;

/** A URL safe to log: the values of token-bearing query parameters are replaced. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(SECRET_QUERY_PARAMS, '$1[REDACTED]');
}

type LoggableRequest = IncomingMessage & { ip?: string; host?: string };

/** pino options for a service; handed to Fastify so its request logs use them too. */
export function loggerOptions(service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    serializers: {
      req(req: LoggableRequest) {
        return {
          method: req.method,
          url: redactUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
        };
      },
    },
  };
}

/** Fastify's `logger` option for a service: our pino options, writing to `stream` when one is given (tests read it). */
export function fastifyLoggerOptions(service: string, level: string, stream?: DestinationStream): LoggerOptions & { stream?: DestinationStream } {
  return { ...loggerOptions(service, level), ...(stream ? { stream } : {}) };
}

/** A logger outside Fastify (start-up errors before an app exists). */
export function createLogger(service: string, level: string): pino.Logger {
  return pino(loggerOptions(service, level));
}

export type Logger = pino.Logger;
