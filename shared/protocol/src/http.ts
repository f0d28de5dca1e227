import { type Static, Type } from 'typebox';
import { UserId } from './events.js';
import { NOTIFICATION_TYPES } from './notification-types.js';
import type { StreamName } from './positions.js';
import { NotificationFrame } from './server-frames.js';
import { STREAM_NAME_PATTERN, StreamPositions } from './streams.js';

/** `GET /api/user/ws-token/` → 200 */
export const WsTokenResponse = Type.Object({
  ws_token: Type.String(),
  expires_in: Type.Integer(),
});

/** `POST /api/user/ws-token/revoke` → 200: how many of the user's outstanding ws tokens were deleted. */
export const WsTokensRevoked = Type.Object({ revoked: Type.Integer({ minimum: 0 }) });

/**
 * `POST /api/user/demo-login/` → 200 (DEMO_MODE=1 only): a JWT for a demo
 * user, and a service JWT (scope `events:publish`) when the service has a key for it.
 */
export const DemoLoginResponse = Type.Object({
  access: Type.String(),
  user_id: UserId,
  service_token: Type.Optional(Type.String()),
});

/** `POST /internal/users/disconnect` → 200, and what `npm run disconnect-user` prints. */
export const DisconnectUserResponse = Type.Object({
  user_id: Type.String(),
  /** Epoch milliseconds: ws tokens and JWTs issued at or before it are refused from now on. */
  disconnected_at: Type.Integer(),
  /** Outstanding ws tokens deleted. */
  revoked_tokens: Type.Integer({ minimum: 0 }),
  /** Notifiers that heard the control message (each closes the user's sockets at once). */
  notifiers: Type.Integer({ minimum: 0 }),
});

/** `GET /api/notifications/`: notifications per answer when the query names no `limit`. */
export const NOTIFICATIONS_DEFAULT_LIMIT = 50;

/** `GET /api/notifications/`: the largest `limit`. */
export const NOTIFICATIONS_MAX_LIMIT = 200;

/**
 * `GET /api/notifications/`'s query. `types` and `after` are checked further
 * by the route (known types, one position per stream, streams of the types
 * asked for), which names the offending value in its field errors.
 */
export const NotificationsQuery = Type.Object({
  types: Type.Optional(
    Type.String({
      maxLength: 256,
      description: `Notification types, comma-separated (${NOTIFICATION_TYPES.join(',')}); their streams are read, the user's own and the broadcast one of each. Default: every type`,
    }),
  ),
  after: Type.Optional(
    Type.Array(Type.String({ maxLength: 128 }), {
      maxItems: 2 * NOTIFICATION_TYPES.length,
      description:
        'A position to read on from, one parameter per stream: `<stream>:<id>:<epoch>`, e.g. `after=user:reservation:1700000000123-0:1700000000000-0` (the epoch may be empty: `all:parking_lot:1700000000123-0:`), as `subscribed`, the notifications and this endpoint hand positions out. Absent: the most recent notifications instead',
    }),
  ),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: NOTIFICATIONS_MAX_LIMIT,
      default: NOTIFICATIONS_DEFAULT_LIMIT,
      description: 'The most notifications in the answer',
    }),
  ),
});

/** `GET /api/notifications/` → 200: notifications from history, and where the streams stand. */
export const NotificationsResponse = Type.Object({
  notifications: Type.Array(NotificationFrame, {
    description:
      'Oldest first, merged by id across the streams, each exactly the frame the WebSocket sends. With `after`: what came after each position, the oldest `limit` of it; without: the most recent `limit`',
  }),
  positions: {
    ...StreamPositions,
    description:
      'Every stream read, where the caller stands once it has these notifications: a stream that had more than fit stands at the last one returned from it (see `more`), every other one where it stands now. Send them back as `after` for what follows, or in `subscribe` to go live from there',
  },
  gap: Type.Array(Type.String({ pattern: STREAM_NAME_PATTERN }), {
    description:
      'Streams whose history no longer reaches back to the position given in `after`: the stream began again (another epoch) or is gone, entries after the position were trimmed, or the position is older than HISTORY_MAX_AGE_SECONDS. Something in them may be lost: refetch the state they feed',
  }),
  more: Type.Boolean({ description: 'A stream had more after its position than `limit` let through: ask again with `after` set to `positions`' }),
});

/** `POST /api/events/` → 202 */
export const EventAccepted = Type.Object({ id: Type.String() });

export const FieldError = Type.Object({
  path: Type.String(),
  message: Type.String(),
});

/** Every HTTP error body: a stable code, a human message, field errors where they apply. */
export const ErrorBody = Type.Object({
  code: Type.String(),
  message: Type.String(),
  errors: Type.Optional(Type.Array(FieldError)),
});

export type WsTokenResponse = Static<typeof WsTokenResponse>;
export type NotificationsQuery = Static<typeof NotificationsQuery>;
export type NotificationsResponse = Omit<Static<typeof NotificationsResponse>, 'positions' | 'gap'> & {
  positions: StreamPositions;
  gap: StreamName[];
};
export type WsTokensRevoked = Static<typeof WsTokensRevoked>;
export type DemoLoginResponse = Static<typeof DemoLoginResponse>;
export type EventAccepted = Static<typeof EventAccepted>;
export type DisconnectUserResponse = Static<typeof DisconnectUserResponse>;
export type FieldError = Static<typeof FieldError>;
export type ErrorBody = Static<typeof ErrorBody>;
