import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedis } from '@parking-realtime/redis';
import { metricValue, startRedis, unsignedJwt, waitFor } from '@parking-realtime/testing';
import { createSigner } from 'fast-jwt';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { buildAuthTokenApp } from '../src/app.js';
import { loadAuthTokenConfig } from '../src/config.js';

// JWT_JWKS_URL: the user JWTs' public keys come from a JSON Web Key Set,
// picked by `kid`, and follow its rotations without a restart. Each test runs
// its own JWKS server (node:http on a free port) and counts what it is asked.

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const cleanups: Array<() => Promise<unknown>> = [];
t.teardown(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  redis.disconnect();
  await redisServer.stop();
});

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  /** As the JWKS publishes it. */
  jwk: Record<string, unknown>;
}

function signingKey(kid: string, alg: 'RS256' | 'ES256' = 'RS256'): SigningKey {
  const { privateKey, publicKey } =
    alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

const keyA = signingKey('key-a');
const keyB = signingKey('key-b');
const keyC = signingKey('key-c');
const keyE = signingKey('key-e', 'ES256');

/** A SimpleJWT-style access token signed with `key`, its `kid` in the header unless `kid: null`. */
function jwtSignedWith(key: SigningKey, userId: number, options: { kid?: string | null; claims?: Record<string, unknown> } = {}): string {
  const kid = options.kid === undefined ? key.kid : options.kid;
  const sign = createSigner({
    key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    algorithm: key.alg,
    ...(kid !== null ? { kid } : {}),
  });
  const now = Math.floor(Date.now() / 1000);
  return sign({ token_type: 'access', user_id: userId, iat: now, exp: now + 300, ...options.claims });
}

interface JwksServer {
  url: string;
  /** Requests it has answered. */
  requests(): number;
  publish(keys: SigningKey[]): void;
  /** Answer 500 instead of the set (true), or the set again (false). */
  failing(on: boolean): void;
  /** Stop listening: connections are refused. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  restart(): Promise<void>;
}

async function jwksServer(keys: SigningKey[]): Promise<JwksServer> {
  let published = keys;
  let fail = false;
  let requests = 0;
  let server: Server;
  const listen = (port: number) =>
    new Promise<number>((resolve) => {
      server = createServer((req, res) => {
        requests++;
        if (fail || req.url !== '/.well-known/jwks.json') {
          res.writeHead(fail ? 500 : 404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
      });
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(0);
  let listening = true;
  const stop = async () => {
    if (!listening) return;
    listening = false;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  cleanups.push(stop);
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => requests,
    publish: (next) => {
      published = next;
    },
    failing: (on) => {
      fail = on;
    },
    stop,
    restart: async () => {
      await listen(port);
      listening = true;
    },
  };
}

/** auth-token reading its keys from `jwks`, ready (so its start-up fetch is done). */
async function authToken(jwks: JwksServer, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = loadAuthTokenConfig({
    JWT_ALGORITHM: 'RS256',
    JWT_JWKS_URL: jwks.url,
    REDIS_URL: redisServer.url,
    LOG_LEVEL: 'silent',
    // Polling for a condition sends many requests from one address.
    TOKEN_RATE_LIMIT_PER_IP: '1000000',
    TOKEN_RATE_LIMIT_PER_USER: '1000000',
    ...env,
  });
  const app = await buildAuthTokenApp(config, { redis });
  cleanups.push(() => app.close());
  await app.ready();
  return app;
}

async function wsToken(app: FastifyInstance, jwt: string): Promise<{ status: number; code?: string; message?: string }> {
  const res = await app.inject({ url: '/api/user/ws-token/', headers: { authorization: `Bearer ${jwt}` } });
  const body = res.json() as { code?: string; message?: string; ws_token?: string };
  return { status: res.statusCode, ...(body.code ? { code: body.code, message: body.message } : {}) };
}

const metrics = async (app: FastifyInstance) => (await app.inject({ url: '/metrics' })).body;

t.test('a JWT signed with a key of the set verifies, RS256 and ES256; the set is fetched once, at start-up', async (t) => {
  const jwks = await jwksServer([keyA, keyB]);
  const app = await authToken(jwks);
  t.equal(jwks.requests(), 1, 'fetched when the app became ready');
  t.same(await wsToken(app, jwtSignedWith(keyA, 1)), { status: 200 });
  t.same(await wsToken(app, jwtSignedWith(keyB, 1)), { status: 200 });
  const revoke = await app.inject({ method: 'POST', url: '/api/user/ws-token/revoke', headers: { authorization: `Bearer ${jwtSignedWith(keyB, 1)}` } });
  t.equal(revoke.statusCode, 200, 'the revoke route verifies the same way');
  t.equal(jwks.requests(), 1, 'keys already held cost no fetch');
  t.equal(metricValue(await metrics(app), 'jwks_fetches_total', 'result="ok"'), 1);

  const ecJwks = await jwksServer([keyE]);
  const ec = await authToken(ecJwks, { JWT_ALGORITHM: 'ES256' });
  t.same(await wsToken(ec, jwtSignedWith(keyE, 2)), { status: 200 }, 'ES256');
  t.same(await wsToken(ec, jwtSignedWith(keyA, 2)), { status: 401, code: 'auth_invalid_signature', message: 'The token algorithm is not accepted' }, 'RS256 where ES256 is pinned');
});

t.test('what the set cannot vouch for is refused with 401 and its own code, counted in auth_failures_total', async (t) => {
  const jwks = await jwksServer([keyA]);
  const app = await authToken(jwks);
  const refusals: Array<[string, string, string, string]> = [
    ['a kid the set does not hold', jwtSignedWith(keyC, 3), 'auth_kid_unknown', 'The token is signed with a key (kid) the key set does not hold'],
    ["a listed kid over another key's signature", jwtSignedWith(keyC, 3, { kid: keyA.kid }), 'auth_invalid_signature', 'The token signature is invalid'],
    ['no kid', jwtSignedWith(keyA, 3, { kid: null }), 'auth_kid_missing', 'The token names no signing key (kid)'],
    ['HS256 under a listed kid', createSigner({ key: 'x'.repeat(40), algorithm: 'HS256', kid: keyA.kid })({ token_type: 'access', user_id: 3, exp: 9_999_999_999 }), 'auth_invalid_signature', 'The token algorithm is not accepted'],
    ['alg none', unsignedJwt({ token_type: 'access', user_id: 3, exp: 9_999_999_999 }), 'auth_invalid_signature', 'The token algorithm is not accepted'],
    ['an expired token', jwtSignedWith(keyA, 3, { claims: { exp: Math.floor(Date.now() / 1000) - 60 } }), 'auth_expired', 'The token has expired'],
    ['no exp', jwtSignedWith(keyA, 3, { claims: { exp: undefined } }), 'auth_invalid_claims', 'The token has no expiry (exp)'],
  ];
  for (const [what, jwt, code, message] of refusals) t.same(await wsToken(app, jwt), { status: 401, code, message }, what);
  const text = await metrics(app);
  t.equal(metricValue(text, 'auth_failures_total', 'reason="auth_kid_unknown"'), 1);
  t.equal(metricValue(text, 'auth_failures_total', 'reason="auth_kid_missing"'), 1);
  t.equal(metricValue(text, 'auth_failures_total', 'reason="auth_invalid_signature"'), 3);
  t.same(await wsToken(app, jwtSignedWith(keyA, 3)), { status: 200 }, 'and the good token still verifies');
});

t.test('rotation: a token signed with a newly published key verifies without a restart, and the old key then stops', async (t) => {
  const jwks = await jwksServer([keyA]);
  const app = await authToken(jwks, { JWT_JWKS_CACHE_SECONDS: '3' });
  t.same(await wsToken(app, jwtSignedWith(keyA, 4)), { status: 200 });
  const before = jwks.requests();
  jwks.publish([keyB]);
  // Right after a fetch an unknown kid waits out the refetch interval (300 ms here); then the set is fetched again.
  await waitFor(async () => (await wsToken(app, jwtSignedWith(keyB, 4))).status === 200, 5000, 'the new key to verify');
  t.ok(jwks.requests() > before, 'the JWKS server was asked again');
  t.same(await wsToken(app, jwtSignedWith(keyA, 4)), { status: 401, code: 'auth_kid_unknown', message: 'The token is signed with a key (kid) the key set does not hold' }, 'the set fetched again no longer holds the old key');
});

t.test('a key removed from the set verifies until the cache time has passed, then no more', async (t) => {
  const jwks = await jwksServer([keyA, keyB]);
  const fetchedBy = Date.now();
  const app = await authToken(jwks, { JWT_JWKS_CACHE_SECONDS: '3' });
  t.same(await wsToken(app, jwtSignedWith(keyA, 5)), { status: 200 });
  jwks.publish([keyB]);
  t.same(await wsToken(app, jwtSignedWith(keyA, 5)), { status: 200 }, 'still held: the set is not fetched for a key it holds');
  t.equal(jwks.requests(), 1);
  await waitFor(async () => (await wsToken(app, jwtSignedWith(keyA, 5))).code === 'auth_kid_unknown', 10_000, 'the removed key to be refused');
  t.ok(Date.now() - fetchedBy >= 3000, 'not before the 3 s cache time');
  t.equal(jwks.requests(), 2, 'fetched again once the cache time was up');
  t.same(await wsToken(app, jwtSignedWith(keyB, 5)), { status: 200 }, 'the key still published verifies');
});

t.test('with the JWKS server down, held keys verify and an unknown kid gets 503 jwks_unavailable; once back, it is fetched again', async (t) => {
  const jwks = await jwksServer([keyA]);
  const app = await authToken(jwks, { JWT_JWKS_CACHE_SECONDS: '10' });
  await jwks.stop();
  t.same(await wsToken(app, jwtSignedWith(keyA, 6)), { status: 200 }, 'a held key verifies with the server down');
  // Within the refetch interval (1 s here) of the last fetch an unknown kid is refused without asking; after it, asking fails.
  const unavailable = await waitFor(async () => {
    const res = await wsToken(app, jwtSignedWith(keyC, 6));
    return res.status === 503 && res;
  }, 5000, 'an unknown kid to get 503');
  t.same(unavailable, { status: 503, code: 'jwks_unavailable', message: 'The signing keys are unavailable right now; try again' });
  t.same(await wsToken(app, jwtSignedWith(keyA, 6)), { status: 200 }, 'the held key still verifies');
  t.ok(metricValue(await metrics(app), 'jwks_fetches_total', 'result="error"') >= 1, 'the failed fetch is counted');
  t.equal(metricValue(await metrics(app), 'auth_failures_total', 'reason="jwks_unavailable"'), 0, 'a 503 is not an auth failure');

  jwks.publish([keyA, keyC]);
  await jwks.restart();
  await waitFor(async () => (await wsToken(app, jwtSignedWith(keyC, 6))).status === 200, 5000, 'the new key to verify once the server is back');
});

t.test('with the JWKS server down, a held key is not used past the cache time: 503, not a stale key', async (t) => {
  const jwks = await jwksServer([keyA]);
  const fetchedBy = Date.now();
  const app = await authToken(jwks, { JWT_JWKS_CACHE_SECONDS: '2' });
  await jwks.stop();
  t.same(await wsToken(app, jwtSignedWith(keyA, 8)), { status: 200 }, 'held');
  const refused = await waitFor(async () => {
    const res = await wsToken(app, jwtSignedWith(keyA, 8));
    return res.status !== 200 && res;
  }, 10_000, 'the held key to expire');
  t.same(refused, { status: 503, code: 'jwks_unavailable', message: 'The signing keys are unavailable right now; try again' });
  t.ok(Date.now() - fetchedBy >= 2000, 'not before the 2 s cache time');
});

t.test('a flood of 50 made-up kids costs at most one fetch per refetch interval, with the server up or failing', async (t) => {
  const jwks = await jwksServer([keyA]);
  const app = await authToken(jwks, { JWT_JWKS_CACHE_SECONDS: '10' }); // refetch interval: 1 s
  // A fetch for an unknown kid, once the interval since the start-up fetch is over: the interval starts again.
  await waitFor(
    async () => {
      await wsToken(app, jwtSignedWith(keyC, 7, { kid: 'first-made-up' }));
      return jwks.requests() === 2;
    },
    5000,
    'a refetch',
  );
  // One after another, as a flood that outlasts any one fetch: each would cost a fetch without the interval.
  const flood = async () => {
    const jwts = Array.from({ length: 50 }, (_, i) => jwtSignedWith(keyC, 7, { kid: `made-up-${i}-${Math.random()}` }));
    const before = jwks.requests();
    const started = Date.now();
    const answers = [];
    for (const jwt of jwts) answers.push(await wsToken(app, jwt));
    const intervals = Math.floor((Date.now() - started) / 1000);
    return { answers, fetches: jwks.requests() - before, allowed: 1 + intervals };
  };
  const up = await flood();
  t.ok(up.fetches <= up.allowed, `${up.fetches} fetches for 50 made-up kids (at most ${up.allowed})`);
  t.same(new Set(up.answers.map((a) => a.code)), new Set(['auth_kid_unknown']));
  t.same(await wsToken(app, jwtSignedWith(keyA, 7)), { status: 200 }, 'the real key verifies throughout');

  jwks.failing(true);
  await waitFor(async () => (await wsToken(app, jwtSignedWith(keyC, 7, { kid: 'while-failing' }))).status === 503, 5000, 'a failed fetch');
  const failing = await flood();
  t.ok(failing.fetches <= failing.allowed, `${failing.fetches} fetches for 50 made-up kids while the server fails (at most ${failing.allowed})`);
  t.same(new Set(failing.answers.map((a) => a.code)), new Set(['jwks_unavailable']));
  t.same(await wsToken(app, jwtSignedWith(keyA, 7)), { status: 200 }, 'the real key verifies while the server fails');
});

t.test('configuration: JWT_JWKS_URL needs RS256 or ES256, excludes JWT_PUBLIC_KEY, is https in production; JWT_JWKS_CACHE_SECONDS', async (t) => {
  const url = 'https://app.example/api/.well-known/jwks.json';
  const c = loadAuthTokenConfig({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: url });
  t.same(c.jwt.jwks, { url: new URL(url), algorithm: 'RS256', cacheSeconds: 600 }, 'cached 600 s by default');
  t.equal(c.jwt.key, undefined);
  t.equal(loadAuthTokenConfig({ JWT_ALGORITHM: 'ES256', JWT_JWKS_URL: url, JWT_JWKS_CACHE_SECONDS: '60' }).jwt.jwks?.cacheSeconds, 60);
  t.equal(loadAuthTokenConfig({ NODE_ENV: 'production', JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: url }).jwt.jwks?.url.href, url, 'https in production');
  t.equal(loadAuthTokenConfig({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'http://127.0.0.1:8080/jwks.json' }).jwt.jwks?.url.protocol, 'http:', 'http outside production');
  t.equal(loadAuthTokenConfig({}).jwt.jwks, undefined, 'unset: no JWKS');
  t.equal(loadAuthTokenConfig({ JWT_JWKS_CACHE_SECONDS: '600' }).jwt.jwks, undefined, 'the cache time alone (as .env.example lists it) changes nothing');

  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ JWT_JWKS_URL: url }, /JWT_JWKS_URL needs JWT_ALGORITHM=RS256 or ES256/],
    [{ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'x'.repeat(40), JWT_JWKS_URL: url }, /JWT_JWKS_URL needs JWT_ALGORITHM=RS256 or ES256/],
    [{ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: url, JWT_PUBLIC_KEY: 'pem' }, /set JWT_PUBLIC_KEY or JWT_JWKS_URL, not both/],
    [{ JWT_ALGORITHM: 'RS256' }, /JWT_PUBLIC_KEY or JWT_JWKS_URL is required when JWT_ALGORITHM=RS256/],
    [{ NODE_ENV: 'production', JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'http://app.example/jwks.json' }, /JWT_JWKS_URL must be https when NODE_ENV=production/],
    [{ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'app.example/jwks.json' }, /JWT_JWKS_URL: "app.example\/jwks.json" is not a URL/],
    [{ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'ftp://app.example/jwks.json' }, /JWT_JWKS_URL: "ftp:\/\/app.example\/jwks.json" is not an http\(s\) URL/],
    [{ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'https://user:pw@app.example/jwks.json' }, /JWT_JWKS_URL must not carry credentials/],
    [{ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: ` ${url}` }, /JWT_JWKS_URL/],
    [{ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: url, JWT_JWKS_CACHE_SECONDS: '0' }, /JWT_JWKS_CACHE_SECONDS/],
    [{ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: url, JWT_JWKS_CACHE_SECONDS: '86401' }, /JWT_JWKS_CACHE_SECONDS/],
    [{ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: url, JWT_JWKS_CACHE_SECONDS: '10m' }, /JWT_JWKS_CACHE_SECONDS/],
    [{ DEMO_MODE: '1', JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: url }, /DEMO_MODE=1 needs JWT_ALGORITHM=HS256/],
  ];
  for (const [env, message] of refused) t.throws(() => loadAuthTokenConfig(env), { name: 'ConfigError', message }, JSON.stringify(env));
});
