import { type Static, Type } from 'typebox';
import type { FieldError } from './http.js';
import { nestsDeeperThan } from './json-depth.js';
import { NotificationTypeSchema } from './notification-types.js';
import { NotificationData } from './server-frames.js';

/**
 * How deep an event's `data` may nest, counting objects and arrays, `data`
 * itself being level 1: `{"a": 1}` is 1 level, `{"a": {"b": [1]}}` is 3.
 * Deeper data is refused (400 `invalid_event`, a field error on `/data`):
 * every step an event takes (validation, storing it, publishing it) reads
 * `data` whole, and a value nested thousands of levels deep overflows the
 * call stack of what serialises it. A JSON Schema cannot say this, so the
 * schema below does not carry it: validate with `eventDepthErrors` as well.
 */
export const MAX_DATA_DEPTH = 32;

/**
 * The most users one event may target. Each target costs the worker its own
 * writes, so this bounds the work of one event; a larger audience is a
 * broadcast (no `user_ids`) or several events.
 */
export const MAX_USER_IDS = 1000;

/** A user id as the main application issues it: a number or a short opaque string. */
export const UserId = Type.Union([
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$' }),
]);

/**
 * The idempotency key of an event. It is never a BullMQ job id (jobs have
 * BullMQ's own ids), so any id of this form, BullMQ's own words included, is
 * just an id. The form (not all digits, no `:`) dates from when it was the
 * job id, and is kept so that the ids valid before are exactly the ones valid now.
 */
export const EventId = Type.String({ minLength: 1, maxLength: 128, pattern: '^(?![0-9]+$)[A-Za-z0-9_.-]+$' });

const eventProperties = {
  id: Type.Optional(EventId),
  type: NotificationTypeSchema,
  message: Type.String({ minLength: 1, maxLength: 2000 }),
  data: NotificationData,
  /** 1 to MAX_USER_IDS users: bounded work per event; a larger audience is a broadcast or several events. */
  user_ids: Type.Optional(Type.Array(UserId, { minItems: 1, maxItems: MAX_USER_IDS })),
};

/**
 * What a domain service sends. `user_ids` present: targeted to those users,
 * at most MAX_USER_IDS of them; absent: broadcast to every connection
 * subscribed to the type. `data` may nest at most MAX_DATA_DEPTH levels,
 * which this schema cannot express: check `eventDepthErrors` first.
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

/**
 * The field error of an event whose `data` nests deeper than MAX_DATA_DEPTH;
 * empty otherwise (and for anything that is not an object with `data`, which
 * the schema refuses). Never recurses, so it is safe on any parsed JSON; run
 * it before anything else walks or serialises the event.
 */
export function eventDepthErrors(event: unknown): FieldError[] {
  if (typeof event !== 'object' || event === null || !('data' in event)) return [];
  if (!nestsDeeperThan(event.data, MAX_DATA_DEPTH)) return [];
  return [{ path: '/data', message: `must not nest deeper than ${MAX_DATA_DEPTH} levels of objects and arrays` }];
}
