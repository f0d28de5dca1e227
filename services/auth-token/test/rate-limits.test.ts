import { createRedis, waitUntilReady } from '@parking-realtime/redis';
import { simpleJwtAccessToken, startRedis, waitFor } from '@parking-realtime/testing';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { buildAuthTokenApp } from '../src/app.js';
import { loadAuthTokenConfig } from '../src/config.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const apps: FastifyInstance[] = [];
const connections = [redis];
t.teardown(async () => {
  await Promise.all(apps.map((a) => a.close()));
  for (const c of connections) c.disconnect();
  await redisServer.stop();
});

async function authToken(env: Record<string, string>): Promise<FastifyInstance> {
  const connection = redis.duplicate();
  connections.push(connection);
  const app = await buildAuthTokenApp(loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: redisServer.url, ...env }), { redis: connection });
  apps.push(app);
  return app;
}

/** The client addresses the per-address limit holds a counter for. */
async function ipCounters(): Promise<string[]> {
  const keys = await redis.keys('pr:rate:*ip:*');
  return keys.map((k) => k.slice(k.indexOf('ip:') + 3)).sort();
}

const tokenRequest = (app: FastifyInstance, userId: number | string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'GET',
    url: '/api/user/ws-token/',
    headers: { authorization: `Bearer ${simpleJwtAccessToken(SECRET, userId)}`, ...headers },
  });

t.beforeEach(async () => {
  await redis.flushall();
});

t.test('past the per-user limit a user gets 429 rate_limited with Retry-After; other users are unaffected', async (t) => {
  const app = await authToken({ TOKEN_RATE_LIMIT_PER_USER: '3', TOKEN_RATE_LIMIT_PER_IP: '1000' });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await tokenRequest(app, 42)).statusCode);
  t.same(statuses, [200, 200, 200, 429]);
  const refused = await tokenRequest(app, 42);
  t.equal(refused.statusCode, 429);
  t.equal(refused.json().code, 'rate_limited');
  t.match(refused.json().message, /retry in \d+ s/);
  const retryAfter = Number(refused.headers['retry-after']);
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} is within the 60 s window`);
  t.equal((await tokenRequest(app, 43)).statusCode, 200, 'another user still gets a token');
  const ttl = await redis.pttl('pr:rate:user:42');
  t.ok(ttl > 0 && ttl <= 60_000, 'the counter lives in Redis under pr:rate:user:<id> and expires with the window');
});

t.test('the per-user limit holds across auth-token instances, because it is counted in Redis', async (t) => {
  const env = { TOKEN_RATE_LIMIT_PER_USER: '4', TOKEN_RATE_LIMIT_PER_IP: '1000' };
  const [a, b] = [await authToken(env), await authToken(env)];
  const statuses = [];
  for (const app of [a, b, a, b, a, b]) statuses.push((await tokenRequest(app, 7)).statusCode);
  t.same(statuses, [200, 200, 200, 200, 429, 429]);
});

t.test('past the per-address limit even bad JWTs get 429, before any signature is checked', async (t) => {
  const app = await authToken({ TOKEN_RATE_LIMIT_PER_IP: '5' });
  const codes = [];
  for (let i = 0; i < 6; i++) {
    const res = await app.inject({ method: 'GET', url: '/api/user/ws-token/', headers: { authorization: 'Bearer not-a-jwt' } });
    codes.push(`${res.statusCode} ${res.json().code}`);
  }
  t.same(codes, [...Array(5).fill('401 auth_malformed'), '429 rate_limited']);
  const good = await tokenRequest(app, 1);
  t.equal(good.statusCode, 429, 'a good JWT from the same address waits too');
  t.ok(Number(good.headers['retry-after']) >= 1);
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health checks are not limited');
});

t.test('behind a trusted proxy, each forwarded client address has its own budget; a forged earlier hop changes nothing', async (t) => {
  // inject() connects from 127.0.0.1, as nginx does under `npm start` (TRUST_PROXY=127.0.0.1).
  const behindNginx = await authToken({ TOKEN_RATE_LIMIT_PER_IP: '2', TRUST_PROXY: '127.0.0.1' });
  const from = (address: string) => ({ 'x-forwarded-for': address });
  const statuses = [];
  for (const address of ['10.0.0.1', '10.0.0.1', '10.0.0.1', '10.0.0.2']) {
    statuses.push((await tokenRequest(behindNginx, address, from(address))).statusCode);
  }
  t.same(statuses, [200, 200, 429, 200], 'the third from 10.0.0.1 is refused, 10.0.0.2 is not');
  // A client cannot escape by sending its own X-Forwarded-For: nginx appends the real address last.
  const spoofed = await tokenRequest(behindNginx, 'x', { 'x-forwarded-for': '10.9.9.9, 10.0.0.1' });
  t.equal(spoofed.statusCode, 429, 'a forged earlier hop does not change the client address');
  t.same(await ipCounters(), ['10.0.0.1', '10.0.0.2'], 'counted against the forwarded addresses only');
});

t.test('a direct request with a forged X-Forwarded-For is counted against its real address', async (t) => {
  // Over a real socket from 127.0.0.1, which TRUST_PROXY does not list: the headers name nobody.
  const app = await authToken({ TOKEN_RATE_LIMIT_PER_IP: '2', TRUST_PROXY: '10.0.0.1,192.168.0.0/16' });
  const url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/api/user/ws-token/`;
  const statuses = [];
  for (const [i, forged] of ['10.0.0.7', '203.0.113.8', '10.0.0.1, 198.51.100.9'].entries()) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${simpleJwtAccessToken(SECRET, i)}`, 'x-forwarded-for': forged } });
    statuses.push(res.status);
  }
  t.same(statuses, [200, 200, 429], 'three forged addresses share one budget');
  t.same(await ipCounters(), ['127.0.0.1'], 'the only address counted is the socket\'s');

  // Without TRUST_PROXY (the default) nothing is trusted, loopback included.
  await redis.flushall();
  const direct = await authToken({ TOKEN_RATE_LIMIT_PER_IP: '2' });
  const direct429 = [];
  for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) direct429.push((await tokenRequest(direct, address, { 'x-forwarded-for': address })).statusCode);
  t.same(direct429, [200, 200, 429], 'without a trusted proxy, forged X-Forwarded-For headers share the socket address');

  // A peer outside the list is its own address even when the list has other proxies.
  await redis.flushall();
  const behindNginx = await authToken({ TOKEN_RATE_LIMIT_PER_IP: '2', TRUST_PROXY: 'loopback' });
  const fromOutside = [];
  for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
    const res = await behindNginx.inject({
      url: '/api/user/ws-token/',
      remoteAddress: '203.0.113.50',
      headers: { authorization: `Bearer ${simpleJwtAccessToken(SECRET, address)}`, 'x-forwarded-for': address },
    });
    fromOutside.push(res.statusCode);
  }
  t.same(fromOutside, [200, 200, 429], 'a client reaching the service around the proxy cannot pick its address');
  t.same(await ipCounters(), ['203.0.113.50']);
});

t.test('the limits are configured by environment and validated at start-up', async (t) => {
  t.throws(() => loadAuthTokenConfig({ JWT_SECRET: SECRET, TOKEN_RATE_LIMIT_PER_USER: '0' }), /TOKEN_RATE_LIMIT_PER_USER/);
  t.throws(() => loadAuthTokenConfig({ JWT_SECRET: SECRET, TOKEN_RATE_LIMIT_PER_IP: 'many' }), /TOKEN_RATE_LIMIT_PER_IP/);
  const config = loadAuthTokenConfig({ JWT_SECRET: SECRET });
  t.same(config.rateLimits, { perUser: 30, perIp: 600, windowSeconds: 60 });
  t.same(config.trustProxy, [], 'no proxy is trusted by default');
});

t.test('while Redis is down the limits let requests through and the endpoint answers 503 redis_unavailable', async (t) => {
  const ownRedis = await startRedis({ signals: true });
  t.teardown(() => ownRedis.stop());
  const connection = createRedis(ownRedis.url, { name: 'outage', failFast: true });
  connections.push(connection);
  await waitUntilReady(connection);
  const app = await buildAuthTokenApp(loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: ownRedis.url }), { redis: connection });
  apps.push(app);
  t.equal((await tokenRequest(app, 5)).statusCode, 200);
  await ownRedis.kill();
  await waitFor(() => connection.status !== 'ready', 10_000, 'the connection to notice');
  const res = await tokenRequest(app, 5);
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'redis_unavailable');
});
