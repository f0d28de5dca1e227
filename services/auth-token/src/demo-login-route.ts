import { DemoLoginResponse, ErrorCode, UserId } from '@parking-realtime/protocol';
import { toFieldErrors } from '@parking-realtime/runtime';
import { described, errorResponse, HttpError } from '@parking-realtime/server';
import { createSigner } from 'fast-jwt';
// For the type of app.jwt, which @fastify/jwt adds (shared/server registers the plugin).
import type {} from '@fastify/jwt';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import type { TokenRateLimits } from './token-rate-limits.js';

const DemoLoginBody = Compile(Type.Object({ user_id: Type.Optional(UserId) }, { additionalProperties: false }));

/**
 * `POST /api/user/demo-login/` (DEMO_MODE=1 only, never in production): mints
 * a SimpleJWT-style access token for a demo user, so the stack can be tried
 * without the main application, and a service JWT (scope events:publish) so
 * the demo page can send events. The body, `{"user_id"?: …}`, may be absent.
 */
export function demoLoginRoute(
  app: FastifyInstance,
  limits: TokenRateLimits,
  serviceJwtSecret: string | undefined,
  /** The `aud`/`iss` the token endpoint requires (JWT_AUDIENCE, JWT_ISSUER), so the minted JWT passes it. */
  expected: { audience: string | undefined; issuer: string | undefined },
): void {
  // The demo page sends events itself: a short-lived service JWT, only ever in demo mode.
  const signService = serviceJwtSecret ? createSigner({ key: serviceJwtSecret, algorithm: 'HS256', expiresIn: 3_600_000 }) : undefined;
  // The body is checked by hand (it may be absent), so the schema only describes answers.
  const schema = {
    summary: 'DEMO_MODE=1 only (never in production): a JWT for a demo user, and a service JWT for the demo page',
    description: 'Body `{"user_id"?: <user id>}`, or none: a random demo user.',
    response: {
      200: described(DemoLoginResponse, "The demo user's JWT (`access`, 1 h), and `service_token` (scope `events:publish`, 1 h)"),
      400: errorResponse('`invalid_request`: the body is not `{"user_id"?: <user id>}`'),
      429: errorResponse('`rate_limited`: past the per-address limit'),
    },
  };
  app.post('/api/user/demo-login/', { schema, config: limits.byAddress }, async (request, reply) => {
    const body = request.body ?? {};
    if (!DemoLoginBody.Check(body)) {
      const errors = toFieldErrors(DemoLoginBody.Errors(body));
      throw new HttpError(400, ErrorCode.invalidRequest, 'Body must be {"user_id"?: number | string}', errors);
    }
    const userId = body.user_id ?? Math.floor(Math.random() * 1_000_000) + 1;
    const access = app.jwt.sign(
      {
        user_id: userId,
        token_type: 'access',
        ...(expected.audience !== undefined ? { aud: expected.audience } : {}),
        ...(expected.issuer !== undefined ? { iss: expected.issuer } : {}),
      },
      { expiresIn: '1h' },
    );
    reply.header('cache-control', 'no-store');
    const service_token = signService?.({ sub: 'demo-page', scope: 'events:publish' });
    return { access, user_id: userId, ...(service_token ? { service_token } : {}) };
  });
}
