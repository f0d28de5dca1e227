import { ErrorCode } from '@parking-realtime/protocol';
import { HttpError, type TokenStore } from '@parking-realtime/server';
import type { FastifyRequest } from 'fastify';
import { originAllowed } from './origin-check.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The user a consumed WebSocket token belonged to; set before the upgrade. */
    wsUserId: string | undefined;
  }
}

/**
 * A preValidation hook: runs before @fastify/websocket upgrades, so a bad
 * token gets HTTP 403, never an accepted-then-closed socket. The token is
 * consumed here, atomically: it cannot be used twice.
 */
export function upgradeAuth(tokens: TokenStore, allowedOrigins: '*' | ReadonlySet<string>) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!request.ws) throw new HttpError(426, 'upgrade_required', 'This endpoint only speaks WebSocket');
    // Before the token is looked at: a hostile page must not even use one up.
    if (!originAllowed(request.headers, allowedOrigins)) {
      throw new HttpError(403, ErrorCode.originNotAllowed, 'This origin may not open notification sockets');
    }
    const token = (request.query as { token?: unknown }).token;
    if (typeof token !== 'string' || token === '') {
      throw new HttpError(403, ErrorCode.wsTokenMissing, 'A ws token is required: ?token=<ws_token>');
    }
    const record = await tokens.consume(token);
    if (!record) throw new HttpError(403, ErrorCode.wsTokenInvalid, 'The ws token is unknown, expired or already used');
    request.wsUserId = record.user_id;
  };
}
