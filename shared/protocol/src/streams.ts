import { type Static, Type } from 'typebox';
import { NOTIFICATION_TYPES, type NotificationType } from './notification-types.js';
import type { StreamName } from './positions.js';

export { advancePosition, type StreamName } from './positions.js';

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

