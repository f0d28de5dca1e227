import type { DisconnectUserResponse } from '@parking-realtime/protocol';
import { isCluster, type RedisClient } from './redis.js';
import { CONTROL_CHANNEL, userDisconnectedAtKey } from './redis-names.js';
import { revokeUserTokens } from './token-store.js';

/**
 * How long a disconnect mark is kept: longer than any ws token can live
 * (WS_TOKEN_TTL_SECONDS is at most a day), and than an access JWT of the main
 * app should (minutes, with SimpleJWT's defaults).
 */
export const DISCONNECT_MARK_TTL_SECONDS = 86_400;

/** The control message every notifier hears; its sockets opened with tokens issued at or before `disconnected_at` close. */
export interface DisconnectUserMessage {
  type: 'disconnect_user';
  user_id: string;
  /** Epoch milliseconds. */
  disconnected_at: number;
}

/**
 * Disconnects a user everywhere, and makes it stick (logout, ban). In this
 * order, so that no path slips between the steps:
 * 1. the mark: from here on, every upgrade checks it, so a token issued
 *    before it (even one that revocation below misses, being written at this
 *    very moment) is refused, and auth-token mints nothing for an older JWT;
 * 2. the user's outstanding ws tokens are deleted;
 * 3. every notifier is told to close the user's sockets, including one whose
 *    token was consumed before the mark but is not admitted yet (each notifier
 *    remembers recent disconnects for that). A notifier that misses the
 *    message while its subscriber reconnects reads the marks of its users
 *    once it is back.
 */
export async function disconnectUser(redis: RedisClient, userId: string, now = Date.now()): Promise<DisconnectUserResponse> {
  await redis.set(userDisconnectedAtKey(userId), String(now), 'EX', DISCONNECT_MARK_TTL_SECONDS);
  const revoked = await revokeUserTokens(redis, userId);
  const message: DisconnectUserMessage = { type: 'disconnect_user', user_id: userId, disconnected_at: now };
  const payload = JSON.stringify(message);
  // On a cluster the control channel is a sharded one, like every channel notifiers subscribe to.
  const notifiers = isCluster(redis) ? Number(await redis.spublish(CONTROL_CHANNEL, payload)) : await redis.publish(CONTROL_CHANNEL, payload);
  return { user_id: userId, disconnected_at: now, revoked_tokens: revoked, notifiers };
}

/** When the user was last disconnected (epoch ms), if within the mark's lifetime. */
export async function disconnectedAt(redis: RedisClient, userId: string): Promise<number | undefined> {
  const raw = await redis.get(userDisconnectedAtKey(userId));
  const at = raw === null ? Number.NaN : Number(raw);
  return Number.isFinite(at) ? at : undefined;
}

/** Whether something issued at `issuedAtMs` predates the user's disconnect at `markMs`. */
export function issuedBeforeDisconnect(issuedAtMs: number | undefined, markMs: number | undefined): boolean {
  if (markMs === undefined) return false;
  // Issued at an unknown time while a mark exists: it cannot show it came after.
  return issuedAtMs === undefined || !Number.isFinite(issuedAtMs) || issuedAtMs <= markMs;
}
