/**
 * Machine-readable error codes, shared by HTTP error bodies and WebSocket
 * `error` frames. Clients and tests match on these, never on message text.
 */
export const ErrorCode = {
  // JWT / token endpoint
  authMissing: 'auth_missing',
  authMalformed: 'auth_malformed',
  authExpired: 'auth_expired',
  authInvalidSignature: 'auth_invalid_signature',
  authInvalidClaims: 'auth_invalid_claims',
  authWrongTokenType: 'auth_wrong_token_type',
  authForbidden: 'auth_forbidden',
  /** The user was disconnected (logout, ban) after this JWT was issued. */
  authRevoked: 'auth_revoked',
  /** The JWT's `aud` is missing or not the one this service is configured to accept (JWT_AUDIENCE). */
  authWrongAudience: 'auth_wrong_audience',
  /** The JWT's `iss` is missing or not the one this service is configured to accept (JWT_ISSUER). */
  authWrongIssuer: 'auth_wrong_issuer',
  /** Keys come from a JWKS (JWT_JWKS_URL) and the JWT's header names none (`kid`). */
  authKidMissing: 'auth_kid_missing',
  /** Keys come from a JWKS and none in it has the JWT's `kid` (also after fetching it again). */
  authKidUnknown: 'auth_kid_unknown',
  /** The JWKS could not be fetched for a key not held: 503, the client should retry. */
  jwksUnavailable: 'jwks_unavailable',
  // WebSocket upgrade
  wsTokenMissing: 'ws_token_missing',
  wsTokenInvalid: 'ws_token_invalid',
  originNotAllowed: 'origin_not_allowed',
  /** A plain HTTP request to the WebSocket endpoint (426). */
  upgradeRequired: 'upgrade_required',
  // WebSocket frames (recoverable: the socket stays open)
  malformedJson: 'malformed_json',
  unknownMessageType: 'unknown_message_type',
  unknownNotificationType: 'unknown_notification_type',
  invalidFrame: 'invalid_frame',
  frameTooLarge: 'frame_too_large',
  binaryFrame: 'binary_frame',
  rateLimited: 'rate_limited',
  // Events
  invalidEvent: 'invalid_event',
  redisUnavailable: 'redis_unavailable',
  // Requests (Fastify's own refusals, under our codes)
  /** A body or query that breaks the route's schema (an event's gets `invalid_event`); `errors` says where. */
  invalidRequest: 'invalid_request',
  emptyBody: 'empty_body',
  bodyTooLarge: 'body_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  invalidContentLength: 'invalid_content_length',
  /** Any other 4xx Fastify raises itself. */
  badRequest: 'bad_request',
  // Generic
  notFound: 'not_found',
  internal: 'internal_error',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
