/** ws: for http:, wss: for https:. */
export function socketUrlFor(baseUrl: string): string {
  const url = new URL('/ws/notifications/', baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

export function tokenUrlFor(baseUrl: string): string {
  return new URL('/api/user/ws-token/', baseUrl).toString();
}

/** `GET /api/notifications/` on the origin of `url` (a base URL, or the token URL); a relative URL gives the path alone. */
export function notificationsUrlFor(url: string): string {
  try {
    return new URL('/api/notifications/', url).toString();
  } catch {
    return '/api/notifications/';
  }
}

/** The page's origin in a browser; elsewhere a base URL must be given. */
export function pageOrigin(): string | undefined {
  return typeof location === 'undefined' ? undefined : location.origin;
}
