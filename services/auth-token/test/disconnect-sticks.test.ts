import { createRedis, disconnectUser } from '@parking-realtime/redis';
import { simpleJwtAccessToken, startRedis } from '@parking-realtime/testing';
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

const getToken = (jwt: string) => app.inject({ method: 'GET', url: '/api/user/ws-token/', headers: { authorization: `Bearer ${jwt}` } });
const seconds = (ms: number) => Math.floor(ms / 1000);

t.test('a JWT issued before its user was disconnected mints no ws token (401 auth_revoked); a newer one does', async (t) => {
  const before = simpleJwtAccessToken(SECRET, 51, { iat: seconds(Date.now()) - 60 });
  t.equal((await getToken(before)).statusCode, 200, 'before the disconnect, it works');
  const { disconnected_at: at } = await disconnectUser(redis, '51');
  const refused = await getToken(before);
  t.equal(refused.statusCode, 401);
  t.match(refused.json(), { code: 'auth_revoked', message: /disconnected/ });
  t.equal((await getToken(simpleJwtAccessToken(SECRET, 51, { iat: seconds(at) + 1 }))).statusCode, 200, 'a JWT issued after it works');
  t.equal((await getToken(simpleJwtAccessToken(SECRET, 52, { iat: seconds(at) - 60 }))).statusCode, 200, 'another user is not affected');
});

t.test('while a disconnect mark stands, a JWT without iat cannot show it is newer and is refused', async (t) => {
  await disconnectUser(redis, '53');
  const res = await getToken(simpleJwtAccessToken(SECRET, 53, { iat: undefined }));
  t.equal(res.statusCode, 401);
  t.equal(res.json().code, 'auth_revoked');
  t.equal((await getToken(simpleJwtAccessToken(SECRET, 54, { iat: undefined }))).statusCode, 200, 'without a mark, iat is not needed');
});
