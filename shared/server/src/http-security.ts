import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import { Type } from 'typebox';

/** `CORS_ORIGINS`: origins whose pages may call this service's HTTP API from the browser. Default none (same origin, through nginx). */
export const CorsOriginsSchema = Type.String({ default: '', pattern: '^(https?://[^,\\s]+(,https?://[^,\\s]+)*)?$' });

export function parseCorsOrigins(value: string): string[] {
  return value.split(',').filter(Boolean);
}

/**
 * Security headers on every answer (helmet's defaults: no sniffing, no
 * framing, a strict CSP, which suits a JSON API), and CORS only for the
 * configured origins: no list, no cross-origin browser access at all.
 */
export async function registerHttpSecurity(app: FastifyInstance, corsOrigins: readonly string[]): Promise<void> {
  // Built once: @fastify/helmet builds helmet's middleware (parsing the CSP) again on every request.
  const securityHeaders = helmet();
  // helmet only ever passes an Error on, as Fastify's done expects.
  app.addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, done as (err?: unknown) => void));
  await app.register(cors, {
    origin: corsOrigins.length > 0 ? [...corsOrigins] : false,
    methods: ['GET', 'POST'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600,
  });
}
