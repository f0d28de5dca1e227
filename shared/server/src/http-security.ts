import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
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
  await app.register(helmet);
  await app.register(cors, {
    origin: corsOrigins.length > 0 ? [...corsOrigins] : false,
    methods: ['GET', 'POST'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600,
  });
}
