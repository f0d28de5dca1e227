import { commonEnv, ConfigError, loadEnv, port, redisTargetFrom, type RedisTarget, requireSecret, SecretSchema } from '@parking-realtime/runtime';
import { CorsOriginsSchema, parseCorsOrigins } from '@parking-realtime/server';
import { Type } from 'typebox';
import type { TokenRateLimitConfig } from './token-rate-limits.js';
import { parseTrustedProxies } from './trusted-proxies.js';

/** An aud/iss value as configured: no surrounding whitespace (a stray space in an env file would refuse every JWT). */
const CLAIM_VALUE = '^\\S(.*\\S)?$';

export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Every variable auth-token reads; the README lists them with these defaults. */
export const authTokenEnv = {
  ...commonEnv,
  /** Browser origins allowed to call this API cross-origin, comma-separated. Default none. */
  CORS_ORIGINS: CorsOriginsSchema,
  /** Default 8001. */
  PORT: port(8001),
  /** HS256 key shared with the main application (SimpleJWT's SIGNING_KEY). Dev default outside production. */
  JWT_SECRET: SecretSchema,
  /** Pinned algorithm. Default HS256; RS256/ES256 need JWT_PUBLIC_KEY or JWT_JWKS_URL. */
  JWT_ALGORITHM: Type.Union(JWT_ALGORITHMS.map((a) => Type.Literal(a)), { default: 'HS256' }),
  /** PEM public key for RS256/ES256. */
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * URL of a JSON Web Key Set holding the RS256/ES256 public keys (instead of
   * JWT_PUBLIC_KEY): each JWT's `kid` picks its key, so the main app can
   * rotate keys without a restart here. https in production. Default unset.
   */
  JWT_JWKS_URL: Type.Optional(Type.String({ pattern: CLAIM_VALUE, maxLength: 2048 })),
  /**
   * How long a fetched key set is used before it is fetched again: a key
   * removed from it stops verifying at most this long after. Default 600 s.
   */
  JWT_JWKS_CACHE_SECONDS: Type.Integer({ default: 600, minimum: 1, maximum: 86_400 }),
  /** Claim holding the user id. Default user_id (SimpleJWT), falling back to sub. */
  JWT_USER_CLAIM: Type.String({ default: 'user_id', minLength: 1 }),
  /**
   * The `aud` user JWTs must carry (SimpleJWT's AUDIENCE); a JWT without it or
   * with another gets 401 auth_wrong_audience. Default unset: `aud` is not checked.
   */
  JWT_AUDIENCE: Type.Optional(Type.String({ pattern: CLAIM_VALUE, maxLength: 512 })),
  /** The `iss` user JWTs must carry (SimpleJWT's ISSUER); otherwise 401 auth_wrong_issuer. Default unset: not checked. */
  JWT_ISSUER: Type.Optional(Type.String({ pattern: CLAIM_VALUE, maxLength: 512 })),
  /** Allowed clock skew for exp/nbf. Default 5 s. */
  JWT_CLOCK_SKEW_SECONDS: Type.Integer({ default: 5, minimum: 0, maximum: 300 }),
  /**
   * GET /api/notifications/ never returns history entries older than this,
   * and reports a gap for a position older than this. The notifier's and
   * event-ingest's variable of the same name: keep the three equal. Default 86400 s.
   */
  HISTORY_MAX_AGE_SECONDS: Type.Integer({ default: 86_400, minimum: 1, maximum: 30 * 86_400 }),
  /** Lifetime of a WebSocket token. Default 1800 s. */
  WS_TOKEN_TTL_SECONDS: Type.Integer({ default: 1800, minimum: 10, maximum: 86_400 }),
  /** Token requests per window per user. Default 30 (a reconnecting client needs one per attempt). */
  TOKEN_RATE_LIMIT_PER_USER: Type.Integer({ default: 30, minimum: 1 }),
  /** Requests per window per client address, per route; loose, since many users can share one NAT address. Default 600. */
  TOKEN_RATE_LIMIT_PER_IP: Type.Integer({ default: 600, minimum: 1 }),
  /** Rate-limit window. Default 60 s. */
  TOKEN_RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ default: 60, minimum: 1, maximum: 3600 }),
  /**
   * The proxies in front of the service, by address: IPs, CIDR ranges and
   * proxy-addr's names (`loopback`, `linklocal`, `uniquelocal`),
   * comma-separated. A request from one of them is attributed to the address
   * it forwarded (X-Forwarded-For, read from the right up to the first
   * untrusted hop). Default none: the socket's address, whatever the headers say.
   */
  TRUST_PROXY: Type.String({ default: '' }),
  /** 1 enables POST /api/user/demo-login/, which mints JWTs for demo users. Default 0; refused in production. */
  DEMO_MODE: Type.Union([Type.Literal('0'), Type.Literal('1')], { default: '0' }),
  /** Read only with DEMO_MODE=1: the demo login also hands out a service JWT, so the demo page can send events. */
  SERVICE_JWT_SECRET: SecretSchema,
};

export interface JwksConfig {
  url: URL;
  /** JWT_ALGORITHM: every key used is one of its kind. */
  algorithm: 'RS256' | 'ES256';
  /** A fetched key set is used this long, then fetched again. */
  cacheSeconds: number;
}

export interface AuthTokenConfig {
  host: string;
  port: number;
  logLevel: string;
  redis: RedisTarget;
  corsOrigins: string[];
  jwt: {
    algorithm: JwtAlgorithm;
    /** HS256 secret, or PEM public key; undefined when the keys come from `jwks`. */
    key: string | undefined;
    /** Where the RS256/ES256 public keys come from, by `kid` (JWT_JWKS_URL), when set. */
    jwks: JwksConfig | undefined;
    userClaim: string;
    clockSkewSeconds: number;
    /** Required `aud`, when set. */
    audience: string | undefined;
    /** Required `iss`, when set. */
    issuer: string | undefined;
    usingDevSecret: boolean;
  };
  wsTokenTtlSeconds: number;
  /** History older than this is never read (HISTORY_MAX_AGE_SECONDS). */
  historyMaxAgeSeconds: number;
  rateLimits: TokenRateLimitConfig;
  /** Trusted proxies (addresses, CIDRs, proxy-addr names); empty: none. */
  trustProxy: string[];
  /** Mint JWTs for demo users (HS256 only, never in production), and service JWTs with this key. */
  demoMode: boolean;
  demoServiceJwtSecret: string | undefined;
}

export function loadAuthTokenConfig(env: NodeJS.ProcessEnv = process.env): AuthTokenConfig {
  const e = loadEnv(authTokenEnv, env);
  // Ignoring it would quietly count every client behind the proxy as one address.
  if (env.TRUST_PROXY_HOPS) {
    throw new ConfigError('Invalid environment: TRUST_PROXY_HOPS is replaced by TRUST_PROXY, the addresses of the proxies (TRUST_PROXY=127.0.0.1 behind a local nginx)');
  }
  let key: string | undefined;
  let jwks: JwksConfig | undefined;
  let usingDevSecret = false;
  if (e.JWT_ALGORITHM === 'HS256') {
    // A JWKS holds public keys; an HS256 secret is never published.
    if (e.JWT_JWKS_URL !== undefined) throw new ConfigError('Invalid environment: JWT_JWKS_URL needs JWT_ALGORITHM=RS256 or ES256 (a JWKS publishes public keys, not HS256 secrets)');
    const s = requireSecret('JWT_SECRET', e.JWT_SECRET, e.NODE_ENV);
    key = s.secret;
    usingDevSecret = s.isDevDefault;
  } else if (e.JWT_JWKS_URL !== undefined) {
    if (e.JWT_PUBLIC_KEY) throw new ConfigError('Invalid environment: set JWT_PUBLIC_KEY or JWT_JWKS_URL, not both');
    jwks = { url: parseJwksUrl(e.JWT_JWKS_URL, e.NODE_ENV), algorithm: e.JWT_ALGORITHM, cacheSeconds: e.JWT_JWKS_CACHE_SECONDS };
  } else {
    if (!e.JWT_PUBLIC_KEY) throw new ConfigError(`Invalid environment: JWT_PUBLIC_KEY or JWT_JWKS_URL is required when JWT_ALGORITHM=${e.JWT_ALGORITHM}`);
    key = e.JWT_PUBLIC_KEY.replace(/\\n/g, '\n');
  }
  if (e.DEMO_MODE === '1') {
    if (e.NODE_ENV === 'production') throw new ConfigError('Invalid environment: DEMO_MODE=1 is refused when NODE_ENV=production');
    if (e.JWT_ALGORITHM !== 'HS256') throw new ConfigError('Invalid environment: DEMO_MODE=1 needs JWT_ALGORITHM=HS256 (it signs demo JWTs)');
  }
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    redis: redisTargetFrom(e),
    corsOrigins: parseCorsOrigins(e.CORS_ORIGINS),
    jwt: {
      algorithm: e.JWT_ALGORITHM as JwtAlgorithm,
      key,
      jwks,
      userClaim: e.JWT_USER_CLAIM,
      clockSkewSeconds: e.JWT_CLOCK_SKEW_SECONDS,
      audience: e.JWT_AUDIENCE,
      issuer: e.JWT_ISSUER,
      usingDevSecret,
    },
    wsTokenTtlSeconds: e.WS_TOKEN_TTL_SECONDS,
    historyMaxAgeSeconds: e.HISTORY_MAX_AGE_SECONDS,
    rateLimits: {
      perUser: e.TOKEN_RATE_LIMIT_PER_USER,
      perIp: e.TOKEN_RATE_LIMIT_PER_IP,
      windowSeconds: e.TOKEN_RATE_LIMIT_WINDOW_SECONDS,
    },
    trustProxy: parseTrustedProxies('TRUST_PROXY', e.TRUST_PROXY),
    demoMode: e.DEMO_MODE === '1',
    demoServiceJwtSecret: e.DEMO_MODE === '1' ? requireSecret('SERVICE_JWT_SECRET', e.SERVICE_JWT_SECRET, e.NODE_ENV).secret : undefined,
  };
}

/** JWT_JWKS_URL as a URL: http(s), no credentials (fetch refuses them), https in production. */
function parseJwksUrl(value: string, nodeEnv: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Invalid environment: JWT_JWKS_URL: ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`Invalid environment: JWT_JWKS_URL: ${JSON.stringify(value)} is not an http(s) URL`);
  }
  if (url.username || url.password) throw new ConfigError('Invalid environment: JWT_JWKS_URL must not carry credentials');
  // Whoever can alter the key set in transit can sign any user's JWT.
  if (url.protocol === 'http:' && nodeEnv === 'production') {
    throw new ConfigError('Invalid environment: JWT_JWKS_URL must be https when NODE_ENV=production');
  }
  return url;
}
