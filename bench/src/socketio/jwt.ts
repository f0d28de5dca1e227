import { UserId } from '@parking-realtime/protocol';
import { createVerifier } from 'fast-jwt';
import { Compile } from 'typebox/compile';

type Claims = Record<string, unknown>;
export type ClaimsVerifier = (token: string) => Claims;

const userIdValidator = Compile(UserId);

/** HS256 only, so `alg: none` or an algorithm swap never verifies. */
export function hs256Verifier(secret: string): ClaimsVerifier {
  return createVerifier({ key: secret, algorithms: ['HS256'] });
}

export function bearerToken(header: string | undefined): string | null {
  const match = header && /^Bearer (\S+)$/i.exec(header);
  return match ? match[1]! : null;
}

/** The user id of a SimpleJWT-style access token's claims, or null (refresh tokens included). */
export function accessTokenUserId(claims: Claims): string | null {
  if (claims.token_type !== 'access') return null;
  const userId = claims.user_id ?? claims.sub;
  return userIdValidator.Check(userId) ? String(userId) : null;
}

export function hasScope(claims: Claims, scope: string): boolean {
  return typeof claims.scope === 'string' && claims.scope.split(' ').includes(scope);
}
