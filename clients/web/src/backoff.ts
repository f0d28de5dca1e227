export interface BackoffOptions {
  /** Ceiling of the first retry's delay. Default 500 ms. */
  initialMs: number;
  /** Ceiling no delay goes above. Default 30 000 ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/**
 * Exponential backoff with full jitter: a delay drawn uniformly from
 * [0, min(max, initial·2^attempt)), so clients cut off together do not come
 * back together.
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
