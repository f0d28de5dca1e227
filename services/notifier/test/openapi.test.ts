import { readFileSync, writeFileSync } from 'node:fs';
import { ErrorBody } from '@parking-realtime/protocol';
import t from 'tap';
import { startNotifierApp } from './support/notifier-app.js';

// The checked-in document; `npm run docs:openapi` rewrites it (UPDATE_DOCS=1) from what the service serves.
const DOCUMENT = new URL('../../../docs/openapi/notifier.json', import.meta.url);

const notifier = await startNotifierApp();
t.teardown(() => notifier.close());

const res = await notifier.app.inject({ method: 'GET', url: '/openapi.json' });
const served = res.json();
if (process.env.UPDATE_DOCS === '1') writeFileSync(DOCUMENT, `${JSON.stringify(served, null, 2)}\n`);

t.test('GET /openapi.json serves the document checked in as docs/openapi/notifier.json', async (t) => {
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(served, JSON.parse(readFileSync(DOCUMENT, 'utf8')), 'it drifted: run `npm run docs:openapi` and commit docs/openapi/');
});

t.test('the upgrade route is documented: the token as its security, 101, and the refusals as ErrorBody', async (t) => {
  const get = served.paths['/ws/notifications/'].get;
  t.same(get.security, [{ wsToken: [] }]);
  t.same(served.components.securitySchemes.wsToken, { type: 'apiKey', in: 'query', name: 'token', description: served.components.securitySchemes.wsToken.description });
  t.ok(get.responses['101']);
  for (const status of ['403', '426']) {
    const { description: _, ...schema } = get.responses[status].content['application/json'].schema;
    t.same(schema, { ...ErrorBody }, status);
  }
  t.same(Object.keys(served.paths).sort(), ['/healthz', '/metrics', '/readyz', '/ws/notifications/']);
});
