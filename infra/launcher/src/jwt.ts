import { createSigner } from 'fast-jwt';

// The JWTs the services accept, signed with a shared secret: for `npm run dev-jwt`,
// the bench and the tests; never for production, where the main application issues them.
// Every verifier requires `exp` (@parking-realtime/server's registerJwt), so both set one;
// pass `{ exp: undefined }` in `claims` to sign a token without it.

/** Signs a Django SimpleJWT-style access token: HS256, `user_id`, `token_type: "access"`, `exp` in `expiresInS`. */
export function simpleJwtAccessToken(secret: string, userId: number | string, claims: Record<string, unknown> = {}, expiresInS = 300): string {
  const now = Math.floor(Date.now() / 1000);
  const sign = createSigner({ key: secret, algorithm: 'HS256' });
  return sign({ token_type: 'access', exp: now + expiresInS, iat: now, jti: `jti-${now}-${Math.random()}`, user_id: userId, ...claims });
}

/** Signs a service JWT for `POST /api/events/`, with `exp` in `expiresInS`. */
export function serviceJwt(secret: string, scope = 'events:publish', claims: Record<string, unknown> = {}, expiresInS = 300): string {
  const now = Math.floor(Date.now() / 1000);
  const sign = createSigner({ key: secret, algorithm: 'HS256' });
  return sign({ sub: 'test-service', scope, iat: now, exp: now + expiresInS, ...claims });
}
