import { ErrorCode, UserId } from '@parking-realtime/protocol';
import { HttpError } from '@parking-realtime/server';
import { Compile } from 'typebox/compile';

const userIdValidator = Compile(UserId);

/**
 * The user id of a verified SimpleJWT-style access token. Refresh tokens (and
 * tokens without `token_type: "access"`) are refused.
 */
export function userIdFromClaims(claims: Record<string, unknown>, userClaim: string): string {
  if (claims.token_type !== 'access') {
    throw new HttpError(401, ErrorCode.authWrongTokenType, 'Only access tokens are accepted');
  }
  const userId = claims[userClaim] ?? claims.sub;
  if (!userIdValidator.Check(userId)) {
    throw new HttpError(401, ErrorCode.authInvalidClaims, `The token has no valid ${userClaim} claim`);
  }
  return String(userId);
}
