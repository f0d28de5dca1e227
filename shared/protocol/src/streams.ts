import { type Static, Type } from 'typebox';
import { compareNotificationIds } from './notification-id.js';
import { NOTIFICATION_TYPES, type NotificationType } from './notification-types.js';

/**
 * Every notification belongs to one stream, and its `id` is its position in
 * that stream: `user:<type>` holds what was addressed to this user, and
 * `all:<type>` what was broadcast, one stream per notification type. Each
 * stream lives whole on one Redis (one Cluster slot), so positions order it
 * exactly; ids of different streams are only roughly ordered (by time).
 */
export type StreamName = `user:${NotificationType}` | `all:${NotificationType}`;

export function userStream(type: NotificationType): StreamName {
  return `user:${type}`;
}

export function broadcastStream(type: NotificationType): StreamName {
  return `all:${type}`;
}

/** The streams a subscription to `types` reads: for each type, the user's own and the broadcast one. */
export function streamsOf(types: readonly NotificationType[]): StreamName[] {
  return types.flatMap((t) => [userStream(t), broadcastStream(t)]);
}

export const STREAM_NAME_PATTERN = `^(user|all):(${NOTIFICATION_TYPES.join('|')})$`;

/** A notification id: `<ms>-<seq>`, as Redis numbers stream entries. */
export const NotificationIdSchema = Type.String({ maxLength: 40, pattern: '^[0-9]{1,20}-[0-9]{1,19}$' });

/**
 * Where a client is in one stream: the id of the last notification it has
 * from it, and the stream's epoch. The epoch changes when the stream was lost
 * and begun again (Redis lost it, or it expired); then positions in the old
 * one mean nothing in the new one. An empty epoch says the stream did not
 * exist when the position was taken.
 */
export const StreamPosition = Type.Object(
  {
    id: NotificationIdSchema,
    epoch: Type.String({ maxLength: 40, pattern: '^([0-9]{1,20}-[0-9]{1,19})?$' }),
  },
  { additionalProperties: false },
);

/** Positions by stream name, as `subscribed` hands them out and `subscribe` sends them back. */
export const StreamPositions = Type.Record(Type.String({ pattern: STREAM_NAME_PATTERN }), StreamPosition, {
  additionalProperties: false,
  maxProperties: 2 * NOTIFICATION_TYPES.length,
});

export type StreamPosition = Static<typeof StreamPosition>;
export type StreamPositions = Partial<Record<StreamName, StreamPosition>>;

/**
 * A client's position after seeing `id` in `stream`: a newer epoch replaces
 * what it held, and within an epoch only a later id moves it (a notification
 * that arrives after `subscribed` may lie behind the position it gave).
 */
export function advancePosition(positions: StreamPositions, stream: StreamName, id: string, epoch: string): void {
  const held = positions[stream];
  if (!held || held.epoch !== epoch || compareNotificationIds(id, held.id) > 0) positions[stream] = { id, epoch };
}
