import { type Static, Type } from 'typebox';
import { NotificationTypeSchema } from './notification-types.js';
import { NotificationData } from './server-frames.js';

/** A user id as the main application issues it: a number or a short opaque string. */
export const UserId = Type.Union([
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$' }),
]);

/**
 * The idempotency key of an event; also the BullMQ job id, which may be
 * neither all digits nor contain `:` (BullMQ reserves both).
 */
export const EventId = Type.String({ minLength: 1, maxLength: 128, pattern: '^(?![0-9]+$)[A-Za-z0-9_.-]+$' });

const eventProperties = {
  id: Type.Optional(EventId),
  type: NotificationTypeSchema,
  message: Type.String({ minLength: 1, maxLength: 2000 }),
  data: NotificationData,
  user_ids: Type.Optional(Type.Array(UserId, { minItems: 1, maxItems: 10_000 })),
};

/**
 * What a domain service sends. `user_ids` present: targeted to those users;
 * absent: broadcast to every connection subscribed to the type.
 */
export const NotificationEvent = Type.Object(eventProperties, { additionalProperties: false });

/**
 * The data of a job on the `notifications` queue. The producer always sets
 * `id` and `created_at`; a job added by hand may lack them, and the worker
 * then takes the job's id and timestamp.
 */
export const QueuedEvent = Type.Object(
  { ...eventProperties, created_at: Type.Optional(Type.String({ format: 'date-time' })) },
  { additionalProperties: false },
);

export type UserId = Static<typeof UserId>;
export type NotificationEvent = Static<typeof NotificationEvent>;
export type QueuedEvent = Static<typeof QueuedEvent>;

/** An event once accepted: the id is always present, and so is the time it was accepted. */
export type AcceptedEvent = NotificationEvent & { id: string; created_at: string };
