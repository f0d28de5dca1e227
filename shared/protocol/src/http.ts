import { type Static, Type } from 'typebox';
import { UserId } from './events.js';

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
export type WsTokensRevoked = Static<typeof WsTokensRevoked>;
export type DemoLoginResponse = Static<typeof DemoLoginResponse>;
export type EventAccepted = Static<typeof EventAccepted>;
export type DisconnectUserResponse = Static<typeof DisconnectUserResponse>;
export type FieldError = Static<typeof FieldError>;
export type ErrorBody = Static<typeof ErrorBody>;
