// Browser-light: no imports, so a client imports this module alone
// (`@parking-realtime/protocol/close-codes`) without the schemas.
/**
 * WebSocket close codes the notifier uses. A client reconnects after any of
 * them (with a fresh token, resuming from its positions) except after its own close
 * and after 4003.
 */
export const CloseCode = {
  /** The notifier is shutting down (SIGTERM); reconnect, nginx sends you elsewhere. */
  serviceRestart: 1012,
  /** A frame far above the size limit (ws closes these itself). */
  messageTooBig: 1009,
  /** The client read too slowly: more than the per-socket cap was waiting to be written. */
  slowConsumer: 4008,
  /** No pong to two server pings in a row: the link is dead. */
  heartbeatTimeout: 4009,
  /** The notifier lost its Redis subscription for a while: reconnect and resume from your positions. */
  resync: 4010,
  /** The user's sockets were closed by the service (logout, ban): do not reconnect. */
  revoked: 4003,
  /** The user opened more sockets than allowed; this, the oldest, made room. */
  tooManySockets: 4011,
  /** Frames came faster than allowed (after an `error` frame with code `rate_limited`). */
  policyViolation: 1008,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
