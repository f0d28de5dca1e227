import { readFileSync, writeFileSync } from 'node:fs';
import { ErrorBody, WsTokenResponse } from '@parking-realtime/protocol';
import { createRedis } from '@parking-realtime/redis';
import { startRedis } from '@parking-realtime/testing';
import t from 'tap';
import { buildAuthTokenApp } from '../src/app.js';
import { loadAuthTokenConfig } from '../src/config.js';

// The checked-in document; `npm run docs:openapi` rewrites it (UPDATE_DOCS=1) from what the service serves.
const DOCUMENT = new URL('../../../docs/openapi/auth-token.json', import.meta.url);

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
// DEMO_MODE=1: the document describes every route, the demo login included (marked as such).
const config = loadAuthTokenConfig({ JWT_SECRET: 'test-secret-that-is-long-enough-0123456789', REDIS_URL: redisServer.url, LOG_LEVEL: 'silent', DEMO_MODE: '1' });
const app = await buildAuthTokenApp(config, { redis });
t.teardown(async () => {
  await app.close();
  redis.disconnect();
  await redisServer.stop();
});

const res = await app.inject({ method: 'GET', url: '/openapi.json' });
const served = res.json();
if (process.env.UPDATE_DOCS === '1') writeFileSync(DOCUMENT, `${JSON.stringify(served, null, 2)}\n`);

t.test('GET /openapi.json serves the document checked in as docs/openapi/auth-token.json', async (t) => {
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(served, JSON.parse(readFileSync(DOCUMENT, 'utf8')), 'it drifted: run `npm run docs:openapi` and commit docs/openapi/');
});

t.test('the token endpoint is documented with the protocol schemas', async (t) => {
  const get = served.paths['/api/user/ws-token/'].get;
  t.same(get.security, [{ userJwt: [] }]);
  t.same(get.responses['200'].content['application/json'].schema, { ...WsTokenResponse, description: get.responses['200'].description });
  for (const status of ['401', '429', '503']) {
    const { description: _, ...schema } = get.responses[status].content['application/json'].schema;
    t.same(schema, { ...ErrorBody }, `${status} answers an ErrorBody`);
  }
  t.notOk(served.paths['/openapi.json'], 'the document does not list itself');
});
