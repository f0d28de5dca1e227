import { type Static, Type } from 'typebox';
import { NotificationTypeSchema } from './notification-types.js';
import { NotificationIdSchema, StreamPositions } from './streams.js';

const NotificationTypes = Type.Array(NotificationTypeSchema, { minItems: 1, maxItems: 16 });

/** `{"type":"subscribe","notification_types":[...],"positions"?:{...},"last_id"?:"..."}` */
export const SubscribeFrame = Type.Object(
  {
    type: Type.Literal('subscribe'),
    notification_types: NotificationTypes,
    /**
     * Where the client is in each stream, to resume exactly after a reconnect:
     * the positions `subscribed` and each notification gave it.
     */
    positions: Type.Optional(StreamPositions),
    /**
     * The id of the last notification the client saw, to resume by time
     * across every stream (best effort; `positions` wins when both are sent).
     */
    last_id: Type.Optional(NotificationIdSchema),
  },
  { additionalProperties: false },
);

/** `{"type":"unsubscribe","notification_types":[...]}` */
export const UnsubscribeFrame = Type.Object(
  {
    type: Type.Literal('unsubscribe'),
    notification_types: NotificationTypes,
  },
  { additionalProperties: false },
);

/** `{"type":"ping"}`: answered with `pong`, for application-level liveness checks. */
export const PingFrame = Type.Object({ type: Type.Literal('ping') }, { additionalProperties: false });

export const ClientFrame = Type.Union([SubscribeFrame, UnsubscribeFrame, PingFrame]);

export type SubscribeFrame = Static<typeof SubscribeFrame>;
export type UnsubscribeFrame = Static<typeof UnsubscribeFrame>;
export type PingFrame = Static<typeof PingFrame>;
export type ClientFrame = Static<typeof ClientFrame>;

export const CLIENT_FRAME_TYPES = ['subscribe', 'unsubscribe', 'ping'] as const;
