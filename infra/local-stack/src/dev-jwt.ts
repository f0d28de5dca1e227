import { DEV_SECRETS } from '@parking-realtime/server';
import { serviceJwt, simpleJwtAccessToken } from '@parking-realtime/testing';

/**
 * `npm run dev-jwt -- <user_id>`: a SimpleJWT-style access token, as the main
 * application would issue, signed with JWT_SECRET (or the dev default).
 * `npm run dev-jwt -- --service`: a service JWT with scope events:publish.
 * For trying the stack by hand; never for production.
 */
const arg = process.argv[2] ?? '1';
if (arg === '--service') {
  console.log(serviceJwt(process.env.SERVICE_JWT_SECRET || DEV_SECRETS.SERVICE_JWT_SECRET));
} else {
  const userId = /^\d+$/.test(arg) ? Number(arg) : arg;
  console.log(simpleJwtAccessToken(process.env.JWT_SECRET || DEV_SECRETS.JWT_SECRET, userId, {}, 3600));
}
