/**
 * Every Redis key, channel and stream name, built here and nowhere else.
 * Hash tags (`{...}`) keep a user's channels and history in one Redis Cluster
 * slot, and likewise a notification type's broadcast channel and history.
 */
import type { NotificationType } from '@parking-realtime/protocol';

/** A live WebSocket token: `ws_token_<sha256 hex of the token>` → `{user_id, issued_at}`, with TTL. */
export function wsTokenKey(tokenSha256Hex: string): string {
  return `ws_token_${tokenSha256Hex}`;
}

/** Set of the hashes of a user's outstanding WebSocket tokens, so the user can revoke them. */
export function userWsTokensKey(userId: string): string {
  return `pr:{u:${userId}}:ws-tokens`;
}

/** Control messages to every notifier (e.g. disconnect a user's sockets). */
export const CONTROL_CHANNEL = 'pr:control';

/**
 * Prefix of the token endpoint's rate-limit counters (INCR with PEXPIRE, by
 * @fastify/rate-limit's Redis store): `pr:rate:user:<id>`, and per route
 * `pr:rate:<METHOD><url>-ip:<address>`.
 */
export const RATE_LIMIT_PREFIX = 'pr:rate:';

/** Pub/sub channel for notifications of one type targeted at one user. */
export function userChannel(userId: string, type: NotificationType): string {
  return `pr:{u:${userId}}:${type}`;
}

/** The notification type a channel built above carries. */
export function notificationTypeOfChannel(channel: string): NotificationType {
  return (channel.endsWith(':all') ? channel.slice(channel.indexOf('{t:') + 3, channel.indexOf('}')) : channel.slice(channel.lastIndexOf(':') + 1)) as NotificationType;
}

/** Pub/sub channel for broadcast notifications of one type. */
export function broadcastChannel(type: NotificationType): string {
  return `pr:{t:${type}}:all`;
}

/** Stream of the recent notifications targeted at one user (all types). */
export function userHistoryKey(userId: string): string {
  return `pr:{u:${userId}}:history`;
}

/** Stream of the recent broadcast notifications of one type. */
export function broadcastHistoryKey(type: NotificationType): string {
  return `pr:{t:${type}}:history`;
}

/**
 * How many of an event's targets it was published to, for the dedupe window:
 * a retry skips those, and an event that reached them all is a duplicate.
 */
export function publishedEventKey(eventId: string): string {
  return `pr:published:{${eventId}}`;
}

/** The last notification id handed out; makes ids strictly increasing across all streams. */
export const NOTIFICATION_CLOCK_KEY = 'pr:notification-clock';

/**
 * BullMQ key prefix (its `prefix` option); the hash tag keeps every key of a
 * queue in one slot, as BullMQ requires on a cluster. BullMQ alone builds and
 * reads its keys.
 */
export const QUEUE_PREFIX = '{pr}';

/** Default BullMQ queue name (`QUEUE_NAME`). */
export const DEFAULT_QUEUE_NAME = 'notifications';
