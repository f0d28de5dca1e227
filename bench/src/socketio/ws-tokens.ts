import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export const WS_TOKEN_TTL_S = 1800;

// Only the hash is stored, so a Redis dump leaks no usable token.
const key = (token: string) => `socketio_ws_token_${createHash('sha256').update(token).digest('hex')}`;

export async function issueWsToken(redis: Redis, userId: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await redis.set(key(token), userId, 'EX', WS_TOKEN_TTL_S);
  return token;
}

/** The token's user, or null; GETDEL makes each token single-use even when two handshakes race. */
export function consumeWsToken(redis: Redis, token: string): Promise<string | null> {
  return redis.getdel(key(token));
}
