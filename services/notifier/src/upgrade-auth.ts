import { ErrorCode } from '@parking-realtime/protocol';
import { disconnectedAt, issuedBeforeDisconnect, type RedisClient, type TokenStore } from '@parking-realtime/redis';
import { HttpError } from '@parking-realtime/server';
import type { FastifyRequest } from 'fastify';
import { originAllowed } from './origin-check.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The user a consumed WebSocket token belonged to; set before the upgrade. */
    wsUserId: string | undefined;
    /** When that token was issued (epoch ms), checked against the user's disconnects. */
    wsTokenIssuedAt: number;
  }
}

/**
 * A preValidation hook: runs before @fastify/websocket upgrades, so a bad
 * token gets HTTP 403, never an accepted-then-closed socket. The token is
 * consumed here, atomically: it cannot be used twice. A token issued before
 * its user was disconnected is refused, even one that revocation missed.
 */
export function upgradeAuth(tokens: TokenStore, redis: RedisClient, allowedOrigins: '*' | ReadonlySet<string>) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!request.ws) throw new HttpError(426, ErrorCode.upgradeRequired, 'This endpoint only speaks WebSocket');
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
    const issuedAt = Date.parse(record.issued_at);
    if (issuedBeforeDisconnect(issuedAt, await disconnectedAt(redis, record.user_id))) {
      throw new HttpError(403, ErrorCode.wsTokenInvalid, 'The ws token was issued before its user was disconnected');
    }
    request.wsUserId = record.user_id;
    request.wsTokenIssuedAt = issuedAt;
  };
}
