/** A demo user's credentials, from `POST /api/user/demo-login/`. */
export interface DemoSession {
  userId: number | string;
  /** The user's JWT, as the main application would issue it: getJwt returns it. */
  access: string;
  /** A service JWT (scope events:publish) when the stack can sign one: lets the page send events. */
  serviceToken: string | undefined;
}

export type SignIn =
  | { state: 'signing-in' }
  | { state: 'signed-in'; session: DemoSession }
  /** 404: the auth-token service runs without DEMO_MODE=1. */
  | { state: 'demo-disabled' }
  | { state: 'failed'; message: string };

/** `?user=42` signs in as user 42 (a number when it is all digits); otherwise the stack picks one. */
export function requestedUserId(search: string): number | string | undefined {
  const user = new URLSearchParams(search).get('user')?.trim();
  if (!user) return undefined;
  return /^\d+$/.test(user) ? Number(user) : user;
}

export async function demoLogin(userId: number | string | undefined): Promise<SignIn> {
  let response: Response;
  try {
    response = await fetch('/api/user/demo-login/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(userId === undefined ? {} : { user_id: userId }),
    });
  } catch (err) {
    return { state: 'failed', message: `The stack is unreachable: ${(err as Error).message}` };
  }
  if (response.status === 404) return { state: 'demo-disabled' };
  const body = (await response.json().catch(() => ({}))) as { access?: unknown; user_id?: unknown; service_token?: unknown; message?: unknown };
  if (!response.ok || typeof body.access !== 'string' || (typeof body.user_id !== 'number' && typeof body.user_id !== 'string')) {
    const reason = typeof body.message === 'string' ? body.message : `the stack answered ${response.status} (is it running? npm start)`;
    return { state: 'failed', message: `Demo login failed: ${reason}` };
  }
  return {
    state: 'signed-in',
    session: {
      userId: body.user_id,
      access: body.access,
      serviceToken: typeof body.service_token === 'string' ? body.service_token : undefined,
    },
  };
}

/**
 * True when the JWT expires within `marginMs` (or its expiry cannot be read):
 * time to sign in again. Demo JWTs live an hour, and a page left open longer
 * would otherwise get 401 on its next reconnect and stop.
 */
export function expiresWithin(jwt: string, marginMs: number, now = Date.now()): boolean {
  try {
    const part = jwt.split('.')[1] ?? '';
    const payload = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof payload.exp !== 'number' || payload.exp * 1000 - now < marginMs;
  } catch {
    return true;
  }
}
