import { type Static, Type } from 'typebox';
import { NotificationTypeSchema } from './notification-types.js';
import { STREAM_NAME_PATTERN, StreamPositions } from './streams.js';

/**
 * Any JSON object. On an event it may nest at most MAX_DATA_DEPTH levels
 * (events.ts), a bound this schema does not carry; `Type.Unknown()` means a
 * schema check never descends into the values.
 */
export const NotificationData = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Free-form payload of the domain event, passed through untouched',
});

/**
 * A notification as the client receives it. `type`, `message` and `data` are
 * the original guide's fields; `id`, `notification_type` and `created_at` are added.
 */
export const NotificationFrame = Type.Object({
  type: Type.Literal('notification'),
  /** Its position in its stream (`<ms>-<seq>`); kept per stream, and sent back in `positions` to resume. */
  id: Type.String(),
  /** The stream it belongs to: `user:<type>` (addressed to this user) or `all:<type>` (broadcast). */
  stream: Type.String({ pattern: STREAM_NAME_PATTERN }),
  /** The stream's epoch; see StreamPosition. */
  epoch: Type.String(),
  notification_type: NotificationTypeSchema,
  message: Type.String(),
  data: NotificationData,
  created_at: Type.String({ format: 'date-time' }),
});

export const SubscribedFrame = Type.Object({
  type: Type.Literal('subscribed'),
  notification_types: Type.Array(NotificationTypeSchema),
  /**
   * Where each stream of these types stood once the subscription was live:
   * everything after these positions reaches the client. A resume leaves out
   * the streams it replays (see docs/protocol.md).
   */
  positions: StreamPositions,
});

export const UnsubscribedFrame = Type.Object({
  type: Type.Literal('unsubscribed'),
  notification_types: Type.Array(NotificationTypeSchema),
});

export const PongFrame = Type.Object({ type: Type.Literal('pong') });

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  code: Type.String(),
  message: Type.String(),
});

/**
 * Sent before a replay when history no longer reaches back to where the
 * client was, in the streams named: something in them may be lost.
 */
export const ResumeGapFrame = Type.Object({
  type: Type.Literal('resume_gap'),
  streams: Type.Array(Type.String({ pattern: STREAM_NAME_PATTERN })),
  /** The `last_id` the client sent, when it resumed by it. */
  last_id: Type.Optional(Type.String()),
});

export const ServerFrame = Type.Union([
  NotificationFrame,
  SubscribedFrame,
  UnsubscribedFrame,
  PongFrame,
  ErrorFrame,
  ResumeGapFrame,
]);

export type NotificationFrame = Static<typeof NotificationFrame>;
export type SubscribedFrame = Static<typeof SubscribedFrame>;
export type UnsubscribedFrame = Static<typeof UnsubscribedFrame>;
export type PongFrame = Static<typeof PongFrame>;
export type ErrorFrame = Static<typeof ErrorFrame>;
export type ResumeGapFrame = Static<typeof ResumeGapFrame>;
export type ServerFrame = Static<typeof ServerFrame>;
