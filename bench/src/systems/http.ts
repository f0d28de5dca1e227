import { simpleJwtAccessToken } from '@parking-realtime/testing';
import { createSigner } from 'fast-jwt';
import type { BenchEvent } from './system.js';

export const JWT_SECRET = 'bench-jwt-secret-that-is-long-enough-0123456789';
export const SERVICE_JWT_SECRET = 'bench-service-secret-that-is-long-enough-012345';

/** `GET /api/user/ws-token/` with the user's JWT; both systems answer `{ws_token}`. */
export async function fetchWsToken(baseUrl: string, userId: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/user/ws-token/`, { headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, userId)}` } });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { ws_token: string }).ws_token;
}

/** `POST /api/events/` with a service JWT; both systems answer 202. */
export function eventPoster(baseUrl: string, serviceJwt: string): (event: BenchEvent) => Promise<void> {
  const headers = { authorization: `Bearer ${serviceJwt}`, 'content-type': 'application/json' };
  return async (event) => {
    const res = await fetch(`${baseUrl}/api/events/`, { method: 'POST', headers, body: JSON.stringify(event) });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`events endpoint answered ${res.status}`);
  };
}

/** A service JWT that outlives the longest run. */
export function benchServiceJwt(): string {
  return createSigner({ key: SERVICE_JWT_SECRET, algorithm: 'HS256', expiresIn: 86_400_000 })({ sub: 'bench', scope: 'events:publish' });
}
