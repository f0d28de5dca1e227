import { WsTokenResponse } from '@parking-realtime/protocol';
import { type TokenStore, verifyJwt } from '@parking-realtime/server';
import type { FastifyInstance } from 'fastify';
import { userIdFromClaims } from './access-token-claims.js';

/** `GET /api/user/ws-token/`: the app's JWT in, a short-lived single-use WebSocket token out; and revocation. */
export function wsTokenRoute(app: FastifyInstance, tokens: TokenStore, userClaim: string, onIssued: () => void): void {
  app.get(
    '/api/user/ws-token/',
    { schema: { response: { 200: WsTokenResponse } } },
    async (request, reply) => {
      const userId = userIdFromClaims(verifyJwt(app, request), userClaim);
      const { token, expiresIn } = await tokens.issue(userId);
      onIssued();
      request.log.info({ userId }, 'ws token issued');
      reply.header('cache-control', 'no-store');
      return { ws_token: token, expires_in: expiresIn };
    },
  );

  // `POST /api/user/ws-token/revoke`: the user's outstanding ws tokens stop working (on logout, or a leak).
  app.post('/api/user/ws-token/revoke', async (request) => {
    const userId = userIdFromClaims(verifyJwt(app, request), userClaim);
    const revoked = await tokens.revokeAll(userId);
    request.log.info({ userId, revoked }, 'ws tokens revoked');
    return { revoked };
  });
}
