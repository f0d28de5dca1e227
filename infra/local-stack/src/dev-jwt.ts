import { DEV_SECRETS } from '@parking-realtime/runtime';
import { serviceJwt, simpleJwtAccessToken } from '@parking-realtime/launcher';

/**
 * `npm run dev-jwt -- <user_id>`: a SimpleJWT-style access token, as the main
 * application would issue, signed with JWT_SECRET (or the dev default), valid
 * for an hour, with `aud`/`iss` from JWT_AUDIENCE/JWT_ISSUER when they are set
 * (as auth-token then requires them).
 * `npm run dev-jwt -- --service`: a service JWT with scope events:publish,
 * valid for an hour. Every JWT carries `exp`: the services refuse one without.
 * For trying the stack by hand; never for production.
 */
const HOUR_S = 3600;
const arg = process.argv[2] ?? '1';
if (arg === '--service') {
  console.log(serviceJwt(process.env.SERVICE_JWT_SECRET || DEV_SECRETS.SERVICE_JWT_SECRET, 'events:publish', {}, HOUR_S));
} else {
  const userId = /^\d+$/.test(arg) ? Number(arg) : arg;
  const claims: Record<string, unknown> = {};
  if (process.env.JWT_AUDIENCE) claims.aud = process.env.JWT_AUDIENCE;
  if (process.env.JWT_ISSUER) claims.iss = process.env.JWT_ISSUER;
  console.log(simpleJwtAccessToken(process.env.JWT_SECRET || DEV_SECRETS.JWT_SECRET, userId, claims, HOUR_S));
}
