import {
  ErrorCode,
  type FieldError,
  NOTIFICATION_TYPES,
  NOTIFICATIONS_DEFAULT_LIMIT,
  type NotificationType,
  NotificationsQuery,
  NotificationsResponse,
  type StreamName,
  type StreamPositions,
  streamsOf,
} from '@parking-realtime/protocol';
import { disconnectedAt, issuedBeforeDisconnect, type RedisClient } from '@parking-realtime/redis';
import { described, errorResponse, HttpError, redisUnavailable, verifyJwt } from '@parking-realtime/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { userIdFromClaims } from './access-token-claims.js';
import { readNotificationHistory } from './notification-history.js';
import type { TokenRateLimits } from './token-rate-limits.js';

const HISTORY_DOWN = 'notification history unreachable';
const TRY_AGAIN = 'Notifications are unavailable right now; try again';

/** What the query may hold; anything else is refused, so a misspelt `after` is never read as "the most recent". */
const QUERY_PARAMETERS = new Set(Object.keys(NotificationsQuery.properties));

/** One `after` value: `<stream>:<id>:<epoch>`, the epoch possibly empty. */
const AFTER_FORM = new RegExp(`^((?:user|all):(?:${NOTIFICATION_TYPES.join('|')})):([0-9]{1,20}-[0-9]{1,19}):((?:[0-9]{1,20}-[0-9]{1,19})?)$`);

interface ReadQuery {
  types: NotificationType[];
  after: StreamPositions | undefined;
  limit: number;
}

/**
 * `GET /api/notifications/`: the user's notifications from history, the
 * frames the WebSocket sends, so a client told `resume_gap` (or just
 * starting) can catch up. The user JWT and the limits of the token endpoint.
 */
export function notificationsRoute(app: FastifyInstance, redis: RedisClient, limits: TokenRateLimits, userClaim: string, historyMaxAgeSeconds: number): void {
  app.get(
    '/api/notifications/',
    {
      schema: {
        summary: "The user's recent notifications from history, or what came after given positions",
        security: [{ userJwt: [] }],
        querystring: NotificationsQuery,
        response: {
          200: described(NotificationsResponse, 'Notifications oldest first, where each stream stands, and the streams with a gap'),
          400: errorResponse('`invalid_request`: the query breaks its form; `errors` names each parameter and what is wrong with it'),
          401: errorResponse(
            'The JWT is missing, malformed, expired, wrongly signed or lacks a claim it needs (an `auth_*` code), or was issued before its user was disconnected (`auth_revoked`)',
          ),
          429: errorResponse('`rate_limited`: past the per-address or per-user limit; `Retry-After` says when to try again'),
          503: errorResponse(
            "Something it needs is unreachable for now (`redis_unavailable`: the history; `jwks_unavailable`: the JWKS holding the JWT's key, with `JWT_JWKS_URL`); try again",
          ),
        },
      },
      // Its own per-user count (`pr:rate:user:<id>:notifications`): catching up never costs a client its reconnects.
      config: { rateLimit: { ...limits.byAddress.rateLimit, groupId: ':notifications' } },
    },
    async (request, reply) => {
      const query = readQuery(request);
      const claims = await verifyJwt(app, request);
      const userId = userIdFromClaims(claims, userClaim);
      await limits.chargeUser(request, reply, userId);
      await refuseIfDisconnectedSince(redis, request, userId, claims.iat);
      const answer = await readNotificationHistory(redis, userId, {
        streams: streamsOf(query.types),
        after: query.after,
        limit: query.limit,
        maxAgeMs: historyMaxAgeSeconds * 1000,
      }).catch(redisUnavailable(request, HISTORY_DOWN, TRY_AGAIN));
      reply.header('cache-control', 'no-store');
      return answer;
    },
  );
}

/** The query, schema-checked, read further: every problem becomes a field error of one 400 `invalid_request`. */
function readQuery(request: FastifyRequest): ReadQuery {
  const raw = request.query as NotificationsQuery;
  const errors: FieldError[] = [];
  // The schema lets unknown parameters through (stripped): look at what the URL held.
  const search = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1 || request.url.length));
  for (const name of new Set(search.keys())) {
    if (!QUERY_PARAMETERS.has(name)) errors.push({ path: `/${name}`, message: `is not a parameter of this endpoint (${[...QUERY_PARAMETERS].join(', ')})` });
  }

  let types: NotificationType[] = [...NOTIFICATION_TYPES];
  if (raw.types !== undefined) {
    const named = raw.types.split(',');
    const unknown = named.filter((t) => !(NOTIFICATION_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) {
      errors.push({ path: '/types', message: `${unknown.map((t) => JSON.stringify(t)).join(', ')} is not a notification type: name one or more of ${NOTIFICATION_TYPES.join(', ')}, comma-separated` });
    }
    types = NOTIFICATION_TYPES.filter((t) => named.includes(t));
  }

  let after: StreamPositions | undefined;
  if (raw.after !== undefined) {
    after = {};
    raw.after.forEach((value, i) => {
      const path = `/after/${i}`;
      const match = AFTER_FORM.exec(value);
      if (!match) {
        errors.push({ path, message: `must be <stream>:<id>:<epoch> (e.g. user:reservation:1700000000123-0:1700000000000-0, the epoch possibly empty), not ${JSON.stringify(value)}` });
        return;
      }
      const [, stream, id, epoch] = match as unknown as [string, StreamName, string, string];
      if (after![stream]) errors.push({ path, message: `gives a second position for ${stream}` });
      else if (!types.some((t) => stream.endsWith(`:${t}`))) errors.push({ path, message: `is a position in ${stream}, of a type the query does not ask for` });
      after![stream] = { id, epoch };
    });
  }

  if (errors.length > 0) {
    throw new HttpError(400, ErrorCode.invalidRequest, `Invalid querystring: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
  }
  return { types, after, limit: raw.limit ?? NOTIFICATIONS_DEFAULT_LIMIT };
}

/** A user disconnected (logout, ban) after their JWT was issued reads nothing with it, as they get no ws token with it. */
async function refuseIfDisconnectedSince(redis: RedisClient, request: FastifyRequest, userId: string, iat: unknown): Promise<void> {
  const mark = await disconnectedAt(redis, userId).catch(redisUnavailable(request, HISTORY_DOWN, TRY_AGAIN));
  if (issuedBeforeDisconnect(typeof iat === 'number' ? iat * 1000 : undefined, mark)) {
    throw new HttpError(401, ErrorCode.authRevoked, 'This token was issued before the user was disconnected; sign in again');
  }
}
