import cors from '@fastify/cors';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import { Type } from 'typebox';

/** `CORS_ORIGINS`: origins whose pages may call this service's HTTP API from the browser. Default none (same origin, through nginx). */
export const CorsOriginsSchema = Type.String({ default: '', pattern: '^(https?://[^,\\s]+(,https?://[^,\\s]+)*)?$' });

export function parseCorsOrigins(value: string): string[] {
  return value.split(',').filter(Boolean);
}

/**
 * The headers helmet sets, taken once from its middleware run against a
 * response that records them. Its defaults hold no per-request value (no CSP
 * nonce), so every answer gets the same ones; running its chain of twelve
 * middlewares per request cost ~6% of event-ingest's time under load.
 */
function helmetHeaders(): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.push([name, String(value)]),
    removeHeader: () => {},
    getHeader: () => undefined,
  };
  helmet()({} as IncomingMessage, recorder as unknown as ServerResponse, () => {});
  if (headers.length === 0) throw new Error('helmet set no headers synchronously: its middleware changed');
  return headers;
}

/**
 * Security headers on every answer (helmet's defaults: no sniffing, no
 * framing, a strict CSP, which suits a JSON API), and CORS only for the
 * configured origins: no list, no cross-origin browser access at all.
 */
export async function registerHttpSecurity(app: FastifyInstance, corsOrigins: readonly string[]): Promise<void> {
  const headers = helmetHeaders();
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.raw.setHeader(name, value);
    done();
  });
  // No list: no plugin at all. With `origin: false` it still ran its hook on
  // every request to add nothing (~3% of event-ingest's time under load).
  if (corsOrigins.length === 0) return;
  await app.register(cors, {
    origin: [...corsOrigins],
    methods: ['GET', 'POST'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600,
  });
}
