import { WsTokenResponse } from '@parking-realtime/protocol';
import { type TokenStore, verifyJwt } from '@parking-realtime/server';
import type { FastifyInstance } from 'fastify';
import { userIdFromClaims } from './access-token-claims.js';

/** `GET /api/user/ws-token/`: the app's JWT in, a short-lived single-use WebSocket token out. */
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
}
