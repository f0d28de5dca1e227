import { readFileSync, writeFileSync } from 'node:fs';
import { DisconnectUserResponse, ErrorBody, EventAccepted, NotificationEvent } from '@parking-realtime/protocol';
import t from 'tap';
import { startIngestApp } from './support/ingest-app.js';

// The checked-in document; `npm run docs:openapi` rewrites it (UPDATE_DOCS=1) from what the service serves.
const DOCUMENT = new URL('../../../docs/openapi/event-ingest.json', import.meta.url);

const ingest = await startIngestApp();
t.teardown(() => ingest.close());

const res = await ingest.app.inject({ method: 'GET', url: '/openapi.json' });
const served = res.json();
if (process.env.UPDATE_DOCS === '1') writeFileSync(DOCUMENT, `${JSON.stringify(served, null, 2)}\n`);

/**
 * A protocol schema as the document writes it: @fastify/swagger turns a
 * record's `patternProperties` (TypeBox's `Type.Record`) into `additionalProperties`.
 */
function asDocumented(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(asDocumented);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'patternProperties') out.additionalProperties = asDocumented(Object.values(value as object)[0]);
    else out[key] = asDocumented(value);
  }
  return out;
}

const schemaOf = (response: { content: Record<string, { schema: Record<string, unknown> }> }) => {
  const { description: _, ...schema } = response.content['application/json']!.schema;
  return schema;
};

t.test('GET /openapi.json serves the document checked in as docs/openapi/event-ingest.json', async (t) => {
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(served, JSON.parse(readFileSync(DOCUMENT, 'utf8')), 'it drifted: run `npm run docs:openapi` and commit docs/openapi/');
});

t.test('POST /api/events/ is documented with the protocol schemas', async (t) => {
  const post = served.paths['/api/events/'].post;
  t.same(post.security, [{ serviceJwt: ['events:publish'] }]);
  t.same(post.requestBody.content['application/json'].schema, asDocumented(NotificationEvent));
  t.same(schemaOf(post.responses['202']), { ...EventAccepted });
  for (const status of ['400', '401', '403', '413', '415', '503']) t.same(schemaOf(post.responses[status]), { ...ErrorBody }, status);
});

t.test('POST /internal/users/disconnect is documented with the protocol schemas', async (t) => {
  const post = served.paths['/internal/users/disconnect'].post;
  t.same(post.security, [{ serviceJwt: ['users:disconnect'] }]);
  t.same(schemaOf(post.responses['200']), { ...DisconnectUserResponse });
});
