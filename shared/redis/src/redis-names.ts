/**
 * Every Redis key, channel and stream name, built here and nowhere else.
 * Hash tags (`{...}`) keep each of a user's streams (channel, history, epoch,
 * markers) in the user's Redis Cluster slot, and each broadcast stream in its
 * notification type's slot.
 */
import { createRequire } from 'node:module';
import type { NotificationType, StreamName } from '@parking-realtime/protocol';

// ioredis' own slot function (cluster-key-slot, CommonJS without types): the slots it routes by.
const calculateSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

/** A live WebSocket token: `ws_token_<sha256 hex of the token>` → `{user_id, issued_at}`, with TTL. */
export function wsTokenKey(tokenSha256Hex: string): string {
  return `ws_token_${tokenSha256Hex}`;
}

/** Set of the hashes of a user's outstanding WebSocket tokens, so the user can revoke them. */
export function userWsTokensKey(userId: string): string {
  return `pr:{u:${userId}}:ws-tokens`;
}

/**
 * When a user was last disconnected (logout, ban), as epoch milliseconds: ws
 * tokens and JWTs issued before it are refused. In the user's slot.
 */
export function userDisconnectedAtKey(userId: string): string {
  return `pr:{u:${userId}}:disconnected-at`;
}

/**
 * What decides a key's or channel's Redis Cluster slot: its hash tag (the
 * first non-empty `{...}`), else the whole name. Names of one group always
 * share a slot; on a cluster, one script, transaction or SSUBSCRIBE holds one group.
 */
export function slotGroupOf(name: string): string {
  const open = name.indexOf('{');
  const close = open < 0 ? -1 : name.indexOf('}', open + 1);
  return close > open + 1 ? name.slice(open + 1, close) : name;
}

/** The Redis Cluster slot (0..16383) of a key or channel. */
export function slotOf(name: string): number {
  return calculateSlot(name);
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

/** Pub/sub channel for broadcast notifications of one type. */
export function broadcastChannel(type: NotificationType): string {
  return `pr:{t:${type}}:all`;
}

/** The channel a client's stream of that name is published on. */
export function channelOfStream(userId: string, stream: StreamName): string {
  const type = stream.slice(stream.indexOf(':') + 1) as NotificationType;
  return stream.startsWith('user:') ? userChannel(userId, type) : broadcastChannel(type);
}

/** The notification type a channel built above carries (per delivered message: parsed in place). */
export function notificationTypeOfChannel(channel: string): NotificationType {
  return (channel.endsWith(':all') ? channel.slice(channel.indexOf('{t:') + 3, channel.indexOf('}')) : channel.slice(channel.lastIndexOf(':') + 1)) as NotificationType;
}

/*
 * Each channel is one stream, and its keys share its name (and so its slot):
 * the recent notifications, the stream's epoch, and which events reached it.
 */

/** Stream of the recent notifications published on a channel. */
export function historyKey(channel: string): string {
  return `${channel}:history`;
}

/** The channel's stream epoch: the id of its first entry since it last began. */
export function epochKey(channel: string): string {
  return `${channel}:epoch`;
}

/** The ids of the events published on the channel within the dedupe window (a sorted set, by time). */
export function publishedKey(channel: string): string {
  return `${channel}:published`;
}

/**
 * BullMQ key prefix (its `prefix` option); the hash tag keeps every key of a
 * queue in one slot, as BullMQ requires on a cluster. BullMQ alone builds and
 * reads its keys.
 */
export const QUEUE_PREFIX = '{pr}';

/** Default BullMQ queue name (`QUEUE_NAME`). */
export const DEFAULT_QUEUE_NAME = 'notifications';
