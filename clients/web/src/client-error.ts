/** What went wrong, by a stable code; `fatal` errors stop the client (no more reconnects). */
export class NotificationClientError extends Error {
  override name = 'NotificationClientError';
  constructor(
    readonly code: 'auth_failed' | 'token_unavailable' | 'server_error' | 'displaced' | 'revoked' | 'notifications_unavailable',
    message: string,
    readonly fatal: boolean,
    /** The server's own code, for `server_error` (an `error` frame), refused tokens and refused notification fetches. */
    readonly serverCode?: string,
  ) {
    super(message);
  }
}
