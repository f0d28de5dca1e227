import { createHmac } from 'node:crypto';
import { createRedis } from '@parking-realtime/redis';
import { simpleJwtAccessToken, startRedis } from '@parking-realtime/testing';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { buildAuthTokenApp } from '../src/app.js';
import { loadAuthTokenConfig } from '../src/config.js';

// The registered claims auth-token insists on: `exp` always, `aud` and `iss`
// when JWT_AUDIENCE / JWT_ISSUER are set (SimpleJWT's AUDIENCE / ISSUER).

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const AUDIENCE = 'parking-realtime';
const ISSUER = 'https://app.example/api';
const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const apps: FastifyInstance[] = [];
t.teardown(async () => {
  await Promise.all(apps.map((a) => a.close()));
  redis.disconnect();
  await redisServer.stop();
});

async function authToken(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildAuthTokenApp(loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: redisServer.url, LOG_LEVEL: 'silent', ...env }), { redis });
  apps.push(app);
  return app;
}

const plain = await authToken();
const strict = await authToken({ JWT_AUDIENCE: AUDIENCE, JWT_ISSUER: ISSUER });

const wsToken = (app: FastifyInstance, jwt: string) => app.inject({ url: '/api/user/ws-token/', headers: { authorization: `Bearer ${jwt}` } });
/** Everything in Redis but the rate limits' counters: what an issued token would add to. */
const stored = async () => (await redis.keys('*')).filter((k) => !k.startsWith('pr:rate:')).length;

/** HS256 over any payload, since fast-jwt's signer refuses an exp that is not an integer. */
function signRaw(payload: unknown): string {
  const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

const refusal = async (app: FastifyInstance, jwt: string) => {
  const res = await wsToken(app, jwt);
  return { status: res.statusCode, ...(res.json() as { code: string; message: string }) };
};

t.test('a JWT without exp is refused with 401 auth_invalid_claims, on every route that takes a JWT', async (t) => {
  const forever = simpleJwtAccessToken(SECRET, 1, { exp: undefined });
  t.notOk('exp' in plain.jwt.decode<Record<string, unknown>>(forever)!, 'the token really has no exp');
  const before = await stored();
  t.same(await refusal(plain, forever), { status: 401, code: 'auth_invalid_claims', message: 'The token has no expiry (exp)' });
  const revoke = await plain.inject({ method: 'POST', url: '/api/user/ws-token/revoke', headers: { authorization: `Bearer ${forever}` } });
  t.equal(revoke.statusCode, 401);
  t.equal(revoke.json().code, 'auth_invalid_claims');
  t.equal(await stored(), before, 'no token was issued');
  // With aud and iss required too, the missing exp is still what is reported.
  t.equal((await refusal(strict, simpleJwtAccessToken(SECRET, 1, { exp: undefined, aud: AUDIENCE, iss: ISSUER }))).code, 'auth_invalid_claims');
});

t.test('an exp that is not a number is refused as malformed', async (t) => {
  t.equal((await wsToken(plain, signRaw({ user_id: 1, token_type: 'access', exp: 9_999_999_999 }))).statusCode, 200, 'signed the same way, a numeric exp passes');
  for (const exp of ['9999999999', null, [9_999_999_999], { at: 9_999_999_999 }]) {
    const res = await refusal(plain, signRaw({ user_id: 1, token_type: 'access', exp }));
    t.equal(res.status, 401, JSON.stringify(exp));
    t.equal(res.code, 'auth_malformed', JSON.stringify(exp));
  }
});

t.test('with JWT_AUDIENCE and JWT_ISSUER set, a JWT carrying both is accepted', async (t) => {
  t.equal((await wsToken(strict, simpleJwtAccessToken(SECRET, 2, { aud: AUDIENCE, iss: ISSUER }))).statusCode, 200);
  const listed = simpleJwtAccessToken(SECRET, 2, { aud: ['another-api', AUDIENCE], iss: ISSUER });
  t.equal((await wsToken(strict, listed)).statusCode, 200, 'an aud list that includes ours');
});

const mismatches: Array<[string, Record<string, unknown>, string, string]> = [
  ['no aud', { iss: ISSUER }, 'auth_wrong_audience', 'The token has no audience (aud)'],
  ['another aud', { aud: 'billing', iss: ISSUER }, 'auth_wrong_audience', 'The token is meant for another audience (aud)'],
  ['an aud list without ours', { aud: ['billing', 'reports'], iss: ISSUER }, 'auth_wrong_audience', 'The token is meant for another audience (aud)'],
  ['an aud that only contains ours', { aud: `${AUDIENCE}-staging`, iss: ISSUER }, 'auth_wrong_audience', 'The token is meant for another audience (aud)'],
  ['no iss', { aud: AUDIENCE }, 'auth_wrong_issuer', 'The token has no issuer (iss)'],
  ['another iss', { aud: AUDIENCE, iss: 'https://evil.example/api' }, 'auth_wrong_issuer', 'The token comes from another issuer (iss)'],
  ['an iss in another case', { aud: AUDIENCE, iss: ISSUER.toUpperCase() }, 'auth_wrong_issuer', 'The token comes from another issuer (iss)'],
];

for (const [what, claims, code, message] of mismatches) {
  t.test(`with JWT_AUDIENCE and JWT_ISSUER set, ${what}: 401 ${code}`, async (t) => {
    const before = await stored();
    t.same(await refusal(strict, simpleJwtAccessToken(SECRET, 3, claims)), { status: 401, code, message });
    t.equal(await stored(), before, 'no token was issued');
  });
}

t.test('an aud or iss the operator did not ask to check is not checked', async (t) => {
  t.equal((await wsToken(plain, simpleJwtAccessToken(SECRET, 4, { aud: 'billing', iss: 'https://elsewhere.example' }))).statusCode, 200);
  const audienceOnly = await authToken({ JWT_AUDIENCE: AUDIENCE });
  t.equal((await wsToken(audienceOnly, simpleJwtAccessToken(SECRET, 4, { aud: AUDIENCE }))).statusCode, 200, 'JWT_AUDIENCE alone: no iss needed');
  t.equal((await refusal(audienceOnly, simpleJwtAccessToken(SECRET, 4, { iss: ISSUER }))).code, 'auth_wrong_audience');
});

t.test('the demo login mints JWTs with the aud and iss the token endpoint requires, and an exp', async (t) => {
  const demo = await authToken({ JWT_AUDIENCE: AUDIENCE, JWT_ISSUER: ISSUER, DEMO_MODE: '1' });
  const login = await demo.inject({ method: 'POST', url: '/api/user/demo-login/', payload: { user_id: 8 } });
  const access = login.json().access as string;
  t.match(demo.jwt.decode<Record<string, unknown>>(access), { aud: AUDIENCE, iss: ISSUER, exp: Number });
  t.equal((await wsToken(demo, access)).statusCode, 200);
  t.match(demo.jwt.decode<Record<string, unknown>>(login.json().service_token), { exp: Number }, 'the service JWT expires too');
});
