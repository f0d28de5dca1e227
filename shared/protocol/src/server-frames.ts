import { type Static, Type } from 'typebox';
import { NotificationTypeSchema } from './notification-types.js';

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
  /** Orders notifications; sent back as `last_id` to resume. */
  id: Type.String(),
  notification_type: NotificationTypeSchema,
  message: Type.String(),
  data: NotificationData,
  created_at: Type.String({ format: 'date-time' }),
});

export const SubscribedFrame = Type.Object({
  type: Type.Literal('subscribed'),
  notification_types: Type.Array(NotificationTypeSchema),
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

/** Sent before a replay when history no longer reaches back to `last_id`. */
export const ResumeGapFrame = Type.Object({
  type: Type.Literal('resume_gap'),
  last_id: Type.String(),
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
