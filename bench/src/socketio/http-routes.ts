import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { NotificationEvent, type NotificationFrame } from '@parking-realtime/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';
import { accessTokenUserId, bearerToken, type ClaimsVerifier, hasScope } from './jwt.js';
import { typeRoom, userRoom } from './socket-handlers.js';
import type { NotificationServer } from './types.js';
import { issueWsToken, WS_TOKEN_TTL_S } from './ws-tokens.js';

const MAX_BODY_BYTES = 64 * 1024;
const eventValidator = Compile(NotificationEvent);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RouteDeps {
  io: NotificationServer;
  redis: Redis;
  verifyUserJwt: ClaimsVerifier;
  verifyServiceJwt: ClaimsVerifier;
  logger: Logger;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function verifiedClaims(req: IncomingMessage, verify: ClaimsVerifier): Record<string, unknown> {
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new HttpError(401, 'unauthorized', 'Authorization must be "Bearer <JWT>"');
  try {
    return verify(token);
  } catch {
    throw new HttpError(401, 'unauthorized', 'The token could not be verified');
  }
}

/** The body as JSON; a body over the limit is drained, not buffered, so the 413 still reaches the client. */
function readJson(req: IncomingMessage): Promise<unknown> {
  if (Number(req.headers['content-length']) > MAX_BODY_BYTES) {
    return Promise.reject(new HttpError(413, 'payload_too_large', `The body exceeds ${MAX_BODY_BYTES} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return reject(new HttpError(413, 'payload_too_large', `The body exceeds ${MAX_BODY_BYTES} bytes`));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'invalid_event', 'The body is not valid JSON'));
      }
    });
  });
}

async function wsToken(req: IncomingMessage, res: ServerResponse, deps: RouteDeps): Promise<void> {
  const userId = accessTokenUserId(verifiedClaims(req, deps.verifyUserJwt));
  if (userId === null) throw new HttpError(401, 'unauthorized', 'Only access tokens with a user id are accepted');
  const token = await issueWsToken(deps.redis, userId);
  sendJson(res, 200, { ws_token: token, expires_in: WS_TOKEN_TTL_S });
}

async function publishEvent(req: IncomingMessage, res: ServerResponse, deps: RouteDeps): Promise<void> {
  if (!hasScope(verifiedClaims(req, deps.verifyServiceJwt), 'events:publish')) {
    throw new HttpError(403, 'forbidden', 'The token lacks the events:publish scope');
  }
  const event = await readJson(req);
  if (!eventValidator.Check(event)) {
    const errors = eventValidator
      .Errors(event)
      .filter((e) => e.keyword !== 'boolean') // "schema is false" only repeats additionalProperties
      .map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new HttpError(400, 'invalid_event', `Invalid event: ${errors.join('; ')}`);
  }
  const payload: NotificationFrame = {
    type: 'notification',
    id: event.id ?? randomUUID(),
    // Socket.IO keeps no streams; the fields are there so both systems send frames of one shape and size.
    stream: event.user_ids ? `user:${event.type}` : `all:${event.type}`,
    epoch: '',
    notification_type: event.type,
    message: event.message,
    data: event.data,
    created_at: new Date().toISOString(),
  };
  // The adapter delivers locally and publishes to the other nodes through Redis.
  const rooms = event.user_ids ? event.user_ids.map((u) => userRoom(u, event.type)) : typeRoom(event.type);
  deps.io.to(rooms).emit('notification', payload);
  sendJson(res, 202, { id: payload.id });
}

function route(req: IncomingMessage): ((req: IncomingMessage, res: ServerResponse, deps: RouteDeps) => Promise<void>) | null {
  const path = req.url?.split('?', 1)[0];
  if (req.method === 'GET' && path === '/api/user/ws-token/') return wsToken;
  if (req.method === 'POST' && path === '/api/events/') return publishEvent;
  if (req.method === 'GET' && path === '/healthz') return async (_req, res) => sendJson(res, 200, { status: 'ok' });
  return null;
}

/** The HTTP API; Socket.IO takes its own path (/socket.io/) before this handler sees a request. */
export function createRequestHandler(deps: RouteDeps): RequestListener {
  return (req, res) => {
    const handler = route(req);
    if (!handler) return sendJson(res, 404, { code: 'not_found', message: `No route ${req.method} ${req.url?.split('?', 1)[0]}` });
    handler(req, res, deps).catch((err: unknown) => {
      if (err instanceof HttpError) return sendJson(res, err.status, { code: err.code, message: err.message });
      deps.logger.error({ err }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { code: 'internal_error', message: 'Internal error' });
    });
  };
}
