import { createRedis } from '@parking-realtime/redis';
import { metricValue, simpleJwtAccessToken, startRedis } from '@parking-realtime/testing';
import t from 'tap';
import { buildAuthTokenApp } from '../src/app.js';
import { loadAuthTokenConfig } from '../src/config.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const app = await buildAuthTokenApp(loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: redisServer.url, LOG_LEVEL: 'silent' }), { redis });
t.teardown(async () => {
  await app.close();
  redis.disconnect();
  await redisServer.stop();
});

const metrics = async () => (await app.inject({ url: '/metrics' })).body;
const count = (text: string, labels: string) => metricValue(text, 'http_request_duration_seconds_count', labels);

t.test('a token request is counted under its route pattern, method and status', async (t) => {
  const ok = await app.inject({ url: '/api/user/ws-token/', headers: { authorization: `Bearer ${simpleJwtAccessToken(SECRET, 42)}` } });
  t.equal(ok.statusCode, 200);
  const refused = await app.inject({ url: '/api/user/ws-token/' });
  t.equal(refused.statusCode, 401);
  const text = await metrics();
  t.equal(count(text, 'method="GET",route="/api/user/ws-token/",status_code="200"'), 1);
  t.equal(count(text, 'method="GET",route="/api/user/ws-token/",status_code="401"'), 1);
  t.ok(metricValue(text, 'http_request_duration_seconds_sum', 'route="/api/user/ws-token/",status_code="200"') > 0, 'with its duration');
  t.equal(metricValue(text, 'http_request_duration_seconds_bucket', 'route="/api/user/ws-token/",status_code="200",le="+Inf"'), 1, 'a histogram');
});

t.test('a 404 for an unknown path is labelled unmatched, without the path', async (t) => {
  const res = await app.inject({ url: '/api/user/42/secret-path?token=abc123' });
  t.equal(res.statusCode, 404);
  const text = await metrics();
  t.equal(count(text, 'method="GET",route="unmatched",status_code="404"'), 1);
  t.notMatch(text, /secret-path|abc123|\/api\/user\/42/, 'no raw path or query in any label');
});
