import { Agent, request } from 'node:http';
import { createSigner } from 'fast-jwt';
import type { BenchEvent } from './system.js';

export const JWT_SECRET = 'bench-jwt-secret-that-is-long-enough-0123456789';
export const SERVICE_JWT_SECRET = 'bench-service-secret-that-is-long-enough-012345';

// The load generator's core opens every connection, so its own cost per
// request must stay small next to the server's: one JWT signer, and node:http
// with kept-alive sockets rather than fetch, which costs several times more per request.
const signAccess = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 3_600_000 });
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** A request over the kept-alive agent; resolves with the status and the body. */
function call(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `GET /api/user/ws-token/` with the user's JWT (SimpleJWT-style); both systems answer `{ws_token}`. */
export async function fetchWsToken(baseUrl: string, userId: string): Promise<string> {
  const jwt = signAccess({ user_id: userId, token_type: 'access' });
  const res = await call(`${baseUrl}/api/user/ws-token/`, 'GET', { authorization: `Bearer ${jwt}` });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${res.body}`);
  return (JSON.parse(res.body) as { ws_token: string }).ws_token;
}

/** `POST /api/events/` with a service JWT; both systems answer 202. */
export function eventPoster(baseUrl: string, serviceJwt: string): (event: BenchEvent) => Promise<void> {
  const headers = { authorization: `Bearer ${serviceJwt}`, 'content-type': 'application/json' };
  return async (event) => {
    const res = await call(`${baseUrl}/api/events/`, 'POST', headers, JSON.stringify(event));
    if (res.status !== 202) throw new Error(`events endpoint answered ${res.status}`);
  };
}

/** A service JWT that outlives the longest run. */
export function benchServiceJwt(): string {
  return createSigner({ key: SERVICE_JWT_SECRET, algorithm: 'HS256', expiresIn: 86_400_000 })({ sub: 'bench', scope: 'events:publish' });
}
