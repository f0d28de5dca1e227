import { createHash, generateKeyPairSync } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { createRedis } from '@parking-realtime/redis';
import { metricValue, simpleJwtAccessToken, startRedis, unsignedJwt } from '@parking-realtime/testing';
import { createSigner } from 'fast-jwt';
import t from 'tap';
import { buildAuthTokenApp } from '../src/app.js';
import { loadAuthTokenConfig } from '../src/config.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const logs = new PassThrough();
let logText = '';
logs.on('data', (c: Buffer) => {
  logText += c.toString();
});
const app = await buildAuthTokenApp(loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: redisServer.url }), {
  redis,
  logStream: logs,
});
t.teardown(async () => {
  await app.close();
  redis.disconnect();
  await redisServer.stop();
});

const getToken = (authorization?: string) =>
  app.inject({ method: 'GET', url: '/api/user/ws-token/', headers: authorization ? { authorization } : {} });

t.test('a SimpleJWT access token gets a ws token stored hashed with a 1800 s TTL', async (t) => {
  const jwt = simpleJwtAccessToken(SECRET, 42);
  const res = await getToken(`Bearer ${jwt}`);
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.expires_in, 1800);
  t.match(body.ws_token, /^[A-Za-z0-9_-]{43}$/, 'at least 256 bits, base64url');
  t.equal(Buffer.from(body.ws_token, 'base64url').length, 32);
  t.equal(res.headers['cache-control'], 'no-store');

  const key = `ws_token_${createHash('sha256').update(body.ws_token).digest('hex')}`;
  const stored = await redis.get(key);
  t.ok(stored, 'stored under ws_token_<sha256>');
  t.same(Object.keys(JSON.parse(stored!)).sort(), ['issued_at', 'user_id']);
  t.equal(JSON.parse(stored!).user_id, '42');
  const ttl = await redis.ttl(key);
  t.ok(ttl >= 1798 && ttl <= 1800, `TTL ${ttl} is 1800 ± 2`);

  const everything = await redis.keys('*');
  for (const k of everything) {
    t.notOk(k.includes(body.ws_token), 'no key holds the raw token');
    const v = (await redis.type(k)) === 'set' ? JSON.stringify(await redis.smembers(k)) : await redis.get(k);
    t.notOk(v?.includes(body.ws_token), 'no value holds the raw token');
  }
  t.notOk(logText.includes(body.ws_token), 'the raw token is not logged');
  t.notOk(logText.includes(jwt), 'the JWT is not logged');
});

t.test('each request gets a different token', async (t) => {
  const jwt = simpleJwtAccessToken(SECRET, 7);
  const a = (await getToken(`Bearer ${jwt}`)).json().ws_token;
  const b = (await getToken(`Bearer ${jwt}`)).json().ws_token;
  t.not(a, b);
});

t.test('the user claim falls back to sub', async (t) => {
  const sign = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 60_000 });
  const res = await getToken(`Bearer ${sign({ sub: 'user-9', token_type: 'access' })}`);
  t.equal(res.statusCode, 200);
  const key = `ws_token_${createHash('sha256').update(res.json().ws_token).digest('hex')}`;
  t.equal(JSON.parse((await redis.get(key))!).user_id, 'user-9');
});

const refusals: Array<[string, () => string | undefined, string]> = [
  ['no Authorization header', () => undefined, 'auth_missing'],
  ['a non-Bearer scheme', () => `Basic ${Buffer.from('a:b').toString('base64')}`, 'auth_malformed'],
  ['a malformed JWT', () => 'Bearer not.a.jwt', 'auth_malformed'],
  ['garbage', () => 'Bearer abc', 'auth_malformed'],
  ['an expired JWT', () => `Bearer ${simpleJwtAccessToken(SECRET, 1, {}, -60)}`, 'auth_expired'],
  ['a JWT signed with another secret', () => `Bearer ${simpleJwtAccessToken('another-secret-that-is-long-enough-0123', 1)}`, 'auth_invalid_signature'],
  ['an alg:none JWT', () => `Bearer ${unsignedJwt({ user_id: 1, token_type: 'access', exp: Math.floor(Date.now() / 1000) + 60 })}`, 'auth_invalid_signature'],
  ['a refresh token', () => `Bearer ${simpleJwtAccessToken(SECRET, 1, { token_type: 'refresh' })}`, 'auth_wrong_token_type'],
  ['a JWT without token_type', () => `Bearer ${simpleJwtAccessToken(SECRET, 1, { token_type: undefined })}`, 'auth_wrong_token_type'],
  ['a JWT without a user claim', () => `Bearer ${simpleJwtAccessToken(SECRET, 1, { user_id: undefined })}`, 'auth_invalid_claims'],
  ['a JWT whose user id is an object', () => `Bearer ${simpleJwtAccessToken(SECRET, 1, { user_id: { id: 1 } })}`, 'auth_invalid_claims'],
  ['a JWT not valid yet', () => `Bearer ${simpleJwtAccessToken(SECRET, 1, { nbf: Math.floor(Date.now() / 1000) + 600 })}`, 'auth_expired'],
  ['an oversized JWT', () => `Bearer ${'a'.repeat(9000)}`, 'auth_malformed'],
  [
    'an HS256 JWT signed with RS256 instead',
    () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const sign = createSigner({ key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), algorithm: 'RS256' });
      return `Bearer ${sign({ user_id: 1, token_type: 'access' })}`;
    },
    'auth_invalid_signature',
  ],
];

for (const [what, header, code] of refusals) {
  t.test(`401 ${code} for ${what}`, async (t) => {
    const before = await redis.dbsize();
    const res = await getToken(header());
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, code);
    t.type(res.json().message, 'string');
    t.equal(await redis.dbsize(), before, 'no token was issued');
  });
}

t.test('a JWT within the clock skew of its exp still passes', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const sign = createSigner({ key: SECRET, algorithm: 'HS256' });
  const res = await getToken(`Bearer ${sign({ user_id: 3, token_type: 'access', exp: now - 2 })}`);
  t.equal(res.statusCode, 200);
});

t.test('RS256 with a public key, pinned', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pub = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const rsApp = await buildAuthTokenApp(
    loadAuthTokenConfig({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: pub, REDIS_URL: redisServer.url, LOG_LEVEL: 'silent' }),
    { redis },
  );
  t.teardown(() => rsApp.close());
  const sign = createSigner({ key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), algorithm: 'RS256', expiresIn: 60_000 });
  const ok = await rsApp.inject({ url: '/api/user/ws-token/', headers: { authorization: `Bearer ${sign({ user_id: 5, token_type: 'access' })}` } });
  t.equal(ok.statusCode, 200);
  // The classic confusion attack: HS256 signed with the public key as the secret.
  const confused = createSigner({ key: pub, algorithm: 'HS256', expiresIn: 60_000 });
  const bad = await rsApp.inject({ url: '/api/user/ws-token/', headers: { authorization: `Bearer ${confused({ user_id: 5, token_type: 'access' })}` } });
  t.equal(bad.statusCode, 401);
});


t.test('/metrics counts issued tokens and auth failures by reason, exactly', async (t) => {
  const before = (await app.inject({ url: '/metrics' })).body;
  await getToken(`Bearer ${simpleJwtAccessToken(SECRET, 77)}`);
  await getToken('Bearer not.a.jwt');
  const after = (await app.inject({ url: '/metrics' })).body;
  t.equal(metricValue(after, 'ws_tokens_issued_total') - metricValue(before, 'ws_tokens_issued_total'), 1);
  t.equal(
    metricValue(after, 'auth_failures_total', 'reason="auth_malformed"') - metricValue(before, 'auth_failures_total', 'reason="auth_malformed"'),
    1,
  );
});

t.test('health: /healthz alive, /readyz with Redis reachable', async (t) => {
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json().checks, { redis: true });
});

t.test('the demo login exists only with DEMO_MODE=1', async (t) => {
  t.equal((await app.inject({ method: 'POST', url: '/api/user/demo-login/', payload: {} })).statusCode, 404);
  const demo = await buildAuthTokenApp(
    loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: redisServer.url, LOG_LEVEL: 'silent', DEMO_MODE: '1' }),
    { redis },
  );
  t.teardown(() => demo.close());
  const login = await demo.inject({ method: 'POST', url: '/api/user/demo-login/', payload: { user_id: 12 } });
  t.equal(login.statusCode, 200);
  t.equal(login.json().user_id, 12);
  const token = await demo.inject({ url: '/api/user/ws-token/', headers: { authorization: `Bearer ${login.json().access}` } });
  t.equal(token.statusCode, 200, 'the minted JWT is a valid access token');
  const service = app.jwt.decode<{ scope: string }>(login.json().service_token);
  t.equal(service?.scope, 'events:publish', 'and a service JWT for the demo page comes with it');
  const anonymous = await demo.inject({ method: 'POST', url: '/api/user/demo-login/' });
  t.equal(anonymous.statusCode, 200, 'a user id is made up when none is given');
  const bad = await demo.inject({ method: 'POST', url: '/api/user/demo-login/', payload: { user_id: { x: 1 } } });
  t.equal(bad.statusCode, 400);
});

t.test('a user revokes their outstanding ws tokens; other users keep theirs', async (t) => {
  const mine = simpleJwtAccessToken(SECRET, 500);
  const issued = [(await getToken(`Bearer ${mine}`)).json().ws_token, (await getToken(`Bearer ${mine}`)).json().ws_token];
  const theirs = (await getToken(`Bearer ${simpleJwtAccessToken(SECRET, 501)}`)).json().ws_token;
  const key = (token: string) => `ws_token_${createHash('sha256').update(token).digest('hex')}`;
  const res = await app.inject({ method: 'POST', url: '/api/user/ws-token/revoke', headers: { authorization: `Bearer ${mine}` } });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { revoked: 2 });
  for (const token of issued) t.equal(await redis.exists(key(token)), 0, 'revoked');
  t.equal(await redis.exists(key(theirs)), 1, 'another user\'s token still lives');
  const again = await app.inject({ method: 'POST', url: '/api/user/ws-token/revoke', headers: { authorization: `Bearer ${mine}` } });
  t.same(again.json(), { revoked: 0 });
  const anonymous = await app.inject({ method: 'POST', url: '/api/user/ws-token/revoke' });
  t.equal(anonymous.statusCode, 401);
});

t.test('security headers on every answer; no CORS unless configured', async (t) => {
  const res = await getToken(`Bearer ${simpleJwtAccessToken(SECRET, 600)}`);
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  t.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
  t.ok(res.headers['content-security-policy'], 'a CSP');
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/api/user/ws-token/',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });
  t.notOk(preflight.headers['access-control-allow-origin'], 'no cross-origin access by default');
});

t.test('CORS_ORIGINS lets the listed origins call the token endpoint from the browser', async (t) => {
  const corsApp = await buildAuthTokenApp(
    loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: redisServer.url, LOG_LEVEL: 'silent', CORS_ORIGINS: 'https://app.example' }),
    { redis },
  );
  t.teardown(() => corsApp.close());
  const preflight = (origin: string) =>
    corsApp.inject({
      method: 'OPTIONS',
      url: '/api/user/ws-token/',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
  const allowed = await preflight('https://app.example');
  t.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
  t.match(String(allowed.headers['access-control-allow-headers']), /authorization/);
  const other = await preflight('https://evil.example');
  t.notOk(other.headers['access-control-allow-origin'], 'another origin gets no grant');
});
