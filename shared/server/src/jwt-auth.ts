import jwt from '@fastify/jwt';
import { ErrorCode } from '@parking-realtime/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';

/**
 * The public key for one token, looked up from its header (`kid`) before its
 * signature is checked: a JWKS. Throw an HttpError to answer with it (a 401
 * for a key that does not exist, a 503 when the keys cannot be fetched); any
 * other error is answered 503 `jwks_unavailable`.
 */
export type JwtKeyResolver = (token: { header: Record<string, unknown> }) => Promise<string>;

export interface JwtVerification {
  algorithm: 'HS256' | 'RS256' | 'ES256';
  /** HS256 secret, PEM public key, or a resolver that finds each token's public key (RS256/ES256). */
  key: string | JwtKeyResolver;
  clockSkewSeconds: number;
  /** Set: a token must carry this `aud` (alone or in its list), else 401 auth_wrong_audience. */
  audience?: string | undefined;
  /** Set: a token's `iss` must be exactly this, else 401 auth_wrong_issuer. */
  issuer?: string | undefined;
}

/** JWTs larger than this are refused before any parsing. */
const MAX_JWT_LENGTH = 8192;

/** fast-jwt's error codes, as the codes our clients see. */
const VERIFY_ERRORS: Record<string, [code: ErrorCode, message: string]> = {
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

/**
 * Why a signed token's claims were refused, for the two fast-jwt codes that do
 * not say which claim failed. fast-jwt checks the signature before any claim,
 * so the payload read here is the signer's.
 */
function claimRefusal(claims: Record<string, unknown>, config: JwtVerification): [code: ErrorCode, message: string] {
  if (!('exp' in claims)) return [ErrorCode.authInvalidClaims, 'The token has no expiry (exp)'];
  if (config.audience !== undefined) {
    if (!('aud' in claims)) return [ErrorCode.authWrongAudience, 'The token has no audience (aud)'];
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(config.audience)) return [ErrorCode.authWrongAudience, 'The token is meant for another audience (aud)'];
  }
  if (config.issuer !== undefined) {
    if (!('iss' in claims)) return [ErrorCode.authWrongIssuer, 'The token has no issuer (iss)'];
    if (claims.iss !== config.issuer) return [ErrorCode.authWrongIssuer, 'The token comes from another issuer (iss)'];
  }
  return [ErrorCode.authMalformed, 'The token has an invalid claim'];
}

export interface JwtRegistrationOptions {
  /**
   * Verified tokens remembered, each only while its own `exp` and `nbf` (with
   * the clock skew) hold, so a caller that sends the same token with every
   * request (a service) is not HMAC-checked and parsed each time. Failures are
   * never remembered. Default 0: none, for callers whose tokens are each seen
   * about once (users). Not with a key resolver: a remembered token would
   * outlive its key's removal from the set.
   */
  verifiedCacheSize?: number;
}

/**
 * Verified tokens by their exact string, and the window in which each stays
 * valid. The key is the token itself, not a hash of it: equal strings are the
 * same token, and hashing cost as much as the HMAC it saves.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, { claims: Readonly<Record<string, unknown>>; from: number; until: number }>();

  constructor(
    private readonly size: number,
    private readonly toleranceMs: number,
  ) {}

  get(token: string, now: number): Readonly<Record<string, unknown>> | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (now >= entry.from && now <= entry.until) return entry.claims;
    this.entries.delete(token);
    return undefined;
  }

  /**
   * Bounds mirror fast-jwt's checks: valid from nbf − tolerance through exp +
   * tolerance. Only verified tokens come here, and verification requires a
   * numeric `exp`, so every entry ends.
   */
  remember(token: string, claims: Record<string, unknown>): void {
    const from = typeof claims.nbf === 'number' ? claims.nbf * 1000 - this.toleranceMs : 0;
    const until = (claims.exp as number) * 1000 + this.toleranceMs;
    // Oldest out first: Map keeps insertion order.
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { claims: Object.freeze(claims), from, until });
  }
}

/** Each app's verification settings, and its remembered tokens when it keeps any. */
const registrations = new WeakMap<FastifyInstance, { config: JwtVerification; remembered: VerifiedTokens | undefined }>();

/**
 * Registers @fastify/jwt with the algorithm pinned, so `alg: none` or an
 * algorithm swap never verifies; `exp` required, so no token is valid forever;
 * `aud` and `iss` required and checked when configured (fast-jwt skips its
 * aud/iss check for a token that lacks the claim, hence `requiredClaims`).
 */
export async function registerJwt(app: FastifyInstance, config: JwtVerification, options: JwtRegistrationOptions = {}): Promise<void> {
  const size = options.verifiedCacheSize ?? 0;
  if (typeof config.key === 'function') {
    if (config.algorithm === 'HS256') throw new Error('registerJwt: a key resolver is for RS256/ES256 public keys');
    if (size > 0) throw new Error('registerJwt: verifiedCacheSize is not for a key resolver (a removed key must stop verifying)');
  }
  const clockTolerance = config.clockSkewSeconds * 1000;
  const requiredClaims = ['exp'];
  if (config.audience !== undefined) requiredClaims.push('aud');
  if (config.issuer !== undefined) requiredClaims.push('iss');
  await app.register(jwt, {
    // This service never signs: for RS256/ES256 it holds only the public key. A
    // resolver is fast-jwt's key fetcher: app.jwt.verify then calls it with the
    // decoded token and returns a promise, with fast-jwt's own error codes.
    secret: config.algorithm === 'HS256' ? (config.key as string) : { public: config.key, private: undefined as unknown as string },
    verify: {
      algorithms: [config.algorithm],
      clockTolerance,
      requiredClaims,
      // Plain strings: fast-jwt matches them exactly (a RegExp would match a part).
      ...(config.audience !== undefined ? { allowedAud: config.audience } : {}),
      ...(config.issuer !== undefined ? { allowedIss: config.issuer } : {}),
    },
  });
  registrations.set(app, { config, remembered: size > 0 ? new VerifiedTokens(size, clockTolerance) : undefined });
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

/**
 * Verifies the request's JWT: signature, algorithm, exp (required) and nbf
 * with skew, aud and iss when configured. Asynchronous since a key resolver
 * may fetch the key; with a static key nothing waits. (Not
 * `request.jwtVerify()`: it folds fast-jwt's codes into one, and the codes
 * below are what clients and `auth_failures_total` see.)
 */
export async function verifyJwt(app: FastifyInstance, request: FastifyRequest): Promise<Readonly<Record<string, unknown>>> {
  const token = bearerToken(request);
  const registration = registrations.get(app);
  const remembered = registration?.remembered;
  const cached = remembered?.get(token, Date.now());
  if (cached) return cached;
  try {
    // A promise with a key resolver, the payload itself with a static key.
    const payload = (await (app.jwt.verify<object>(token) as unknown)) as unknown;
    if (typeof payload !== 'object' || payload === null) throw new HttpError(401, ErrorCode.authMalformed, 'The token is malformed');
    remembered?.remember(token, payload as Record<string, unknown>);
    return payload as Record<string, unknown>;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (code === 'FAST_JWT_KEY_FETCHING_ERROR') {
      // fast-jwt wraps what the key resolver threw; its HttpError is the answer.
      const original = (err as { originalError?: unknown }).originalError;
      if (original instanceof HttpError) throw original;
      request.log.warn({ err: { message: (original as Error | undefined)?.message ?? (err as Error).message } }, 'JWT key lookup failed');
      throw new HttpError(503, ErrorCode.jwksUnavailable, 'The signing keys are unavailable right now; try again');
    }
    if (registration && (code === 'FAST_JWT_MISSING_REQUIRED_CLAIM' || code === 'FAST_JWT_INVALID_CLAIM_VALUE')) {
      const [ourCode, message] = claimRefusal(app.jwt.decode<Record<string, unknown>>(token) ?? {}, registration.config);
      throw new HttpError(401, ourCode, message);
    }
    const known = VERIFY_ERRORS[code];
    throw new HttpError(401, known?.[0] ?? ErrorCode.authMalformed, known?.[1] ?? 'The token could not be verified');
  }
}

/**
 * A preValidation hook: the request's service JWT must carry `scope` in its
 * `scope` claim (a space-separated string, or an array); 401 or 403 otherwise.
 */
export function requireScope(app: FastifyInstance, scope: string) {
  return async (request: FastifyRequest): Promise<void> => {
    const claim = (await verifyJwt(app, request)).scope;
    const scopes = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
    if (!scopes.includes(scope)) throw new HttpError(403, ErrorCode.authForbidden, `The token lacks the ${scope} scope`);
  };
}
