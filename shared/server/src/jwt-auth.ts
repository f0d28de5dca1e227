import jwt from '@fastify/jwt';
import { ErrorCode } from '@parking-realtime/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';

export interface JwtVerification {
  algorithm: 'HS256' | 'RS256' | 'ES256';
  /** HS256 secret, or PEM public key. */
  key: string;
  clockSkewSeconds: number;
}

/** JWTs larger than this are refused before any parsing. */
const MAX_JWT_LENGTH = 8192;

/** fast-jwt's error codes, as the codes our clients see. */
const VERIFY_ERRORS: Record<string, [code: string, message: string]> = {
  FAST_JWT_EXPIRED: [ErrorCode.authExpired, 'The token has expired'],
  FAST_JWT_INACTIVE: [ErrorCode.authExpired, 'The token is not valid yet'],
  FAST_JWT_MALFORMED: [ErrorCode.authMalformed, 'The token is malformed'],
  FAST_JWT_INVALID_TYPE: [ErrorCode.authMalformed, 'The token is malformed'],
  FAST_JWT_INVALID_PAYLOAD: [ErrorCode.authMalformed, 'The token is malformed'],
  FAST_JWT_INVALID_SIGNATURE: [ErrorCode.authInvalidSignature, 'The token signature is invalid'],
  FAST_JWT_MISSING_SIGNATURE: [ErrorCode.authInvalidSignature, 'The token is not signed'],
  FAST_JWT_INVALID_ALGORITHM: [ErrorCode.authInvalidSignature, 'The token algorithm is not accepted'],
  FAST_JWT_INVALID_KEY: [ErrorCode.authInvalidSignature, 'The token signature is invalid'],
  FAST_JWT_INVALID_CLAIM_TYPE: [ErrorCode.authMalformed, 'The token has an invalid claim'],
  FAST_JWT_INVALID_CLAIM_VALUE: [ErrorCode.authMalformed, 'The token has an invalid claim'],
};

export interface JwtRegistrationOptions {
  /**
   * Verified tokens remembered (LRU), each until its own `exp` (or `nbf`)
   * says otherwise, so a caller that sends the same token on every request
   * (a service) is not HMAC-checked and parsed again each time. Default 0:
   * none, for callers whose tokens are each seen about once (users).
   */
  verifiedCacheSize?: number;
}

/** Registers @fastify/jwt with the algorithm pinned, so `alg: none` or an algorithm swap never verifies. */
export async function registerJwt(app: FastifyInstance, config: JwtVerification, options: JwtRegistrationOptions = {}): Promise<void> {
  const cacheSize = options.verifiedCacheSize ?? 0;
  const clockTolerance = config.clockSkewSeconds * 1000;
  await app.register(jwt, {
    // This service never signs: for RS256/ES256 it holds only the public key.
    secret: config.algorithm === 'HS256' ? config.key : { public: config.key, private: undefined as unknown as string },
    verify: {
      algorithms: [config.algorithm],
      clockTolerance,
      // fast-jwt bounds each entry by the token's own exp/nbf, with the same tolerance.
      ...(cacheSize > 0 ? { cache: cacheSize } : {}),
      // fast-jwt keeps a failure for errorCacheTTL + clockTolerance ms: this cancels the tolerance, so a
      // failure is never remembered (a token not valid yet is accepted as soon as it is).
      ...(cacheSize > 0 ? { errorCacheTTL: () => -clockTolerance - 1 } : {}),
    },
  });
}

/** The bearer token of a request, or a 401 that says what is wrong with the header. */
export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header) throw new HttpError(401, ErrorCode.authMissing, 'Authorization header missing');
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
  if (!match) throw new HttpError(401, ErrorCode.authMalformed, 'Authorization must be "Bearer <token>"');
  const token = match[1]!;
  if (token.length > MAX_JWT_LENGTH) throw new HttpError(401, ErrorCode.authMalformed, 'The token is too large');
  return token;
}

/** Verifies the request's JWT: signature, algorithm, exp/nbf (with skew). */
export function verifyJwt(app: FastifyInstance, request: FastifyRequest): Record<string, unknown> {
  const token = bearerToken(request);
  try {
    const payload = app.jwt.verify<object>(token) as unknown;
    if (typeof payload !== 'object' || payload === null) throw new HttpError(401, ErrorCode.authMalformed, 'The token is malformed');
    return payload as Record<string, unknown>;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const known = VERIFY_ERRORS[(err as { code?: string }).code ?? ''];
    throw new HttpError(401, known?.[0] ?? ErrorCode.authMalformed, known?.[1] ?? 'The token could not be verified');
  }
}

/**
 * A preValidation hook: the request's service JWT must carry `scope` in its
 * `scope` claim (a space-separated string, or an array); 401 or 403 otherwise.
 */
export function requireScope(app: FastifyInstance, scope: string) {
  return async (request: FastifyRequest): Promise<void> => {
    const claim = verifyJwt(app, request).scope;
    const scopes = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
    if (!scopes.includes(scope)) throw new HttpError(403, ErrorCode.authForbidden, `The token lacks the ${scope} scope`);
  };
}
