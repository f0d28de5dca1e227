import { KeyObject } from 'node:crypto';
import { ErrorCode } from '@parking-realtime/protocol';
import { HttpError, type JwtKeyResolver } from '@parking-realtime/server';
import type { FastifyBaseLogger } from 'fastify';
import { type CryptoKey, createRemoteJWKSet, customFetch, errors, type FetchImplementation } from 'jose';
import type { JwksConfig } from './config.js';

/** A JWKS fetch that has not answered by then is abandoned: 503. */
const FETCH_TIMEOUT_MS = 5000;
/** The longest wait between fetches caused by unknown kids (jose's default cooldown). */
const MAX_REFETCH_INTERVAL_MS = 30_000;

export interface JwksKeys {
  /** The public key (PEM) of a token's `kid`, for registerJwt; 401 or 503 HttpErrors. */
  resolve: JwtKeyResolver;
  /** Fetches the set now, so the first JWTs wait for nothing. A failure is logged, never thrown. */
  warmUp(): Promise<void>;
  /** Fetches are at least this far apart when a kid is unknown, and after a failed fetch. */
  refetchIntervalMs: number;
}

export interface JwksKeysOptions {
  log: FastifyBaseLogger;
  /** Every request sent to the JWKS URL: `ok` when it answered 200, else `error`. */
  onFetch?: (result: 'ok' | 'error') => void;
}

/** Thrown instead of fetching while a failed fetch is recent: the JWKS server is not asked again yet. */
class RecentlyFailed extends Error {
  override name = 'RecentlyFailed';
}

/**
 * The public keys of JWT_JWKS_URL, by `kid`: jose's remote key set fetches the
 * whole set, uses it for `cacheSeconds`, then fetches it again (so a key
 * removed from it stops verifying by then), and fetches it early for a kid it
 * does not hold, at most once per refetch interval (a tenth of the cache time,
 * 30 s at most), so a flood of made-up kids costs one fetch per interval. A
 * failed fetch is not retried within the interval either: meanwhile a token
 * whose key is held verifies, one that needs the server gets 503.
 */
export function jwksKeys(config: JwksConfig, options: JwksKeysOptions): JwksKeys {
  const { algorithm } = config;
  const { log, onFetch } = options;
  const refetchIntervalMs = Math.min(MAX_REFETCH_INTERVAL_MS, config.cacheSeconds * 100);
  let failedAt = Number.NEGATIVE_INFINITY;

  const fetchJwks: FetchImplementation = async (url, init) => {
    if (Date.now() - failedAt < refetchIntervalMs) throw new RecentlyFailed('the last JWKS fetch failed moments ago');
    try {
      const response = await fetch(url, init);
      onFetch?.(response.status === 200 ? 'ok' : 'error');
      return response;
    } catch (err) {
      onFetch?.('error');
      throw err;
    }
  };
  const remote = createRemoteJWKSet(config.url, {
    cacheMaxAge: config.cacheSeconds * 1000,
    cooldownDuration: refetchIntervalMs,
    timeoutDuration: FETCH_TIMEOUT_MS,
    [customFetch]: fetchJwks,
  });

  /** A fetch failed (unreachable, not 200, not a key set, too slow): logged once per interval. */
  const fetchFailed = (err: unknown) => {
    if (err instanceof RecentlyFailed) return;
    const now = Date.now();
    if (now - failedAt >= refetchIntervalMs) log.warn({ err: { message: (err as Error).message }, url: config.url.href }, 'JWKS fetch failed');
    failedAt = now;
  };

  // jose hands out one CryptoKey per key of a fetched set; fast-jwt takes PEM.
  const pems = new WeakMap<CryptoKey, string>();
  const pemOf = (key: CryptoKey) => {
    let pem = pems.get(key);
    if (pem === undefined) {
      pem = KeyObject.from(key).export({ type: 'spki', format: 'pem' }) as string;
      pems.set(key, pem);
    }
    return pem;
  };

  const resolve: JwtKeyResolver = async ({ header }) => {
    // Refused before any fetch: neither can name a key of the set.
    if (header.alg !== algorithm) throw new HttpError(401, ErrorCode.authInvalidSignature, 'The token algorithm is not accepted');
    const kid = header.kid;
    if (typeof kid !== 'string' || kid === '') throw new HttpError(401, ErrorCode.authKidMissing, 'The token names no signing key (kid)');
    try {
      return pemOf(await remote({ alg: algorithm, kid }));
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) {
        throw new HttpError(401, ErrorCode.authKidUnknown, 'The token is signed with a key (kid) the key set does not hold');
      }
      if (err instanceof errors.JWKSMultipleMatchingKeys) {
        log.warn({ kid, url: config.url.href }, 'the JWKS holds several keys with this kid');
      } else {
        fetchFailed(err);
      }
      throw new HttpError(503, ErrorCode.jwksUnavailable, 'The signing keys are unavailable right now; try again');
    }
  };

  const warmUp = async () => {
    try {
      await remote.reload();
      log.info({ url: config.url.href, kids: remote.jwks()?.keys.map((k) => k.kid) }, 'JWKS fetched');
    } catch (err) {
      fetchFailed(err);
    }
  };

  return { resolve, warmUp, refetchIntervalMs };
}
