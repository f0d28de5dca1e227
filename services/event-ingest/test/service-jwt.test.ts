import { serviceJwt, simpleJwtAccessToken } from '@parking-realtime/testing';
import t from 'tap';
import { SERVICE_SECRET as SECRET, startIngestApp } from './support/ingest-app.js';

// Verified service tokens are remembered; these hold the cache to the token's own validity window.
const SKEW_S = 2;
const ingest = await startIngestApp({ env: { JWT_CLOCK_SKEW_SECONDS: String(SKEW_S) } });
const { app } = ingest;
t.teardown(() => ingest.close());

const nowS = () => Math.floor(Date.now() / 1000);
const post = (token: string) =>
  app.inject({
    method: 'POST',
    url: '/api/events/',
    headers: { authorization: `Bearer ${token}` },
    payload: { type: 'reservation', message: 'm', data: {}, user_ids: [1] },
  });
const sleepUntilS = (s: number) => new Promise((r) => setTimeout(r, s * 1000 - Date.now() + 20));

t.test('a token accepted before is refused once it expires', async (t) => {
  const exp = nowS() + 2;
  const token = simpleJwtAccessToken(SECRET, 'svc', { scope: 'events:publish' }, exp - nowS());
  t.equal((await post(token)).statusCode, 202);
  t.equal((await post(token)).statusCode, 202, 'and again while valid');
  await sleepUntilS(exp + SKEW_S + 1);
  const late = await post(token);
  t.equal(late.statusCode, 401);
  t.equal(late.json().code, 'auth_expired');
});

t.test('a token refused as not valid yet is accepted as soon as it is', async (t) => {
  const nbf = nowS() + SKEW_S + 1;
  const token = serviceJwt(SECRET, 'events:publish', { nbf });
  const early = await post(token);
  t.equal(early.statusCode, 401);
  t.equal(early.json().code, 'auth_expired');
  // Valid from nbf - skew: within a skew of the refusal, when a remembered refusal would still answer.
  await sleepUntilS(nbf - SKEW_S);
  t.equal((await post(token)).statusCode, 202, 'the refusal was not remembered');
});

t.test('a token with a wrong signature stays refused, before and after a good one', async (t) => {
  const good = serviceJwt(SECRET);
  const forged = `${good.slice(0, good.lastIndexOf('.'))}.${'A'.repeat(43)}`;
  t.equal((await post(forged)).statusCode, 401);
  t.equal((await post(good)).statusCode, 202);
  const again = await post(forged);
  t.equal(again.statusCode, 401);
  t.equal(again.json().code, 'auth_invalid_signature');
});

t.test('a service JWT without exp is refused with 401 auth_invalid_claims, every time it is sent', async (t) => {
  const forever = serviceJwt(SECRET, 'events:publish', { exp: undefined });
  t.notOk('exp' in app.jwt.decode<Record<string, unknown>>(forever)!, 'the token really has no exp');
  for (let i = 0; i < 2; i++) {
    const res = await post(forever);
    t.equal(res.statusCode, 401);
    t.same(res.json(), { code: 'auth_invalid_claims', message: 'The token has no expiry (exp)' });
  }
  t.equal((await post(serviceJwt(SECRET))).statusCode, 202, 'the same claims with an exp pass');
});
