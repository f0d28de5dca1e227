import type { IncomingHttpHeaders } from 'node:http';

/**
 * Cross-site WebSocket hijacking defence: a browser always sends Origin on an
 * upgrade, so one from a page of another site is refused unless listed. The
 * page's own origin (Origin's host equal to Host) passes, and so do clients
 * that send no Origin at all (services, mobile apps), which carry no
 * ambient credentials a hostile page could borrow.
 */
export function originAllowed(headers: IncomingHttpHeaders, allowed: '*' | ReadonlySet<string>): boolean {
  const origin = headers.origin;
  if (origin === undefined || allowed === '*') return true;
  if (allowed.has(origin)) return true;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}
