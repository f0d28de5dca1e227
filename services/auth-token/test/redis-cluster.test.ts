import { createRedis, TokenStore, userWsTokensKey, waitUntilReady } from '@parking-realtime/redis';
import type { RedisTarget } from '@parking-realtime/runtime';
import { simpleJwtAccessToken, startRedisCluster } from '@parking-realtime/testing';
import t from 'tap';
import { buildAuthTokenApp } from '../src/app.js';
import { loadAuthTokenConfig } from '../src/config.js';

// auth-token on a Redis Cluster (3 masters, 3 replicas), as REDIS_CLUSTER_NODES configures it.
const SECRET = 'test-secret-that-is-long-enough-0123456789';
const cluster = await startRedisCluster();
const env = { JWT_SECRET: SECRET, REDIS_CLUSTER_NODES: cluster.seeds, LOG_LEVEL: 'silent' };
const config = loadAuthTokenConfig({ ...env, TOKEN_RATE_LIMIT_PER_USER: '1000', TOKEN_RATE_LIMIT_PER_IP: '5' });
const redis = createRedis(config.redis as RedisTarget, { name: 'auth-token', autoPipelining: true });
await waitUntilReady(redis);
const app = await buildAuthTokenApp(config, { redis });
t.teardown(async () => {
  await app.close();
  redis.disconnect();
  await cluster.stop();
});

const tokenRequest = (userId: string) =>
  app.inject({ method: 'GET', url: '/api/user/ws-token/', headers: { authorization: `Bearer ${simpleJwtAccessToken(SECRET, userId)}` } });

t.test('a token is issued, indexed for revocation, consumed once, and revoked', async (t) => {
  t.ok(redis.isCluster, 'a cluster client');
  const issued = await tokenRequest('c-7');
  t.equal(issued.statusCode, 200);
  const { ws_token: token } = issued.json() as { ws_token: string };
  const store = new TokenStore(redis, 60);
  t.equal(await redis.scard(userWsTokensKey('c-7')), 1, 'the user\'s index holds it');
  t.match(await store.consume(token), { user_id: 'c-7' });
  t.equal(await store.consume(token), null, 'single use');
  // Several tokens, whose keys lie in different slots, revoked at once.
  const more = await Promise.all([1, 2, 3].map(() => store.issue('c-8')));
  t.equal(await store.revokeAll('c-8'), 3);
  for (const { token: raw } of more) t.equal(await store.consume(raw), null, 'revoked');
  t.equal(await redis.scard(userWsTokensKey('c-8')), 0, 'and gone from the index');
});

t.test('the per-address limit is counted on the cluster, not skipped', async (t) => {
  // One request from this address was made above: four more are allowed, then 429.
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await tokenRequest(`ip-${i}`)).statusCode);
  t.same(statuses, [200, 200, 200, 200, 429, 429]);
});

t.test('/readyz reports the cluster healthy', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 200);
});
