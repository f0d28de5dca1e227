import { type Static, Type } from 'typebox';

/** `GET /api/user/ws-token/` → 200 */
export const WsTokenResponse = Type.Object({
  ws_token: Type.String(),
  expires_in: Type.Integer(),
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
export type EventAccepted = Static<typeof EventAccepted>;
export type FieldError = Static<typeof FieldError>;
export type ErrorBody = Static<typeof ErrorBody>;
