import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { userWsTokensKey, wsTokenKey } from './redis-names.js';

/** What Redis holds for a live token. The raw token is never stored. */
export interface TokenRecord {
  user_id: string;
  issued_at: string;
}

const TOKEN_BYTES = 32; // 256 random bits

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Short-lived, single-use WebSocket tokens, kept in Redis under their SHA-256. */
export class TokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  /** Mints a token for `userId`; the caller hands the raw token to the user and forgets it. */
  async issue(userId: string, now = new Date()): Promise<{ token: string; expiresIn: number }> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const record: TokenRecord = { user_id: userId, issued_at: now.toISOString() };
    const hash = hashToken(token);
    const index = userWsTokensKey(userId);
    await this.redis
      .multi()
      .set(wsTokenKey(hash), JSON.stringify(record), 'EX', this.ttlSeconds)
      .sadd(index, hash)
      .expire(index, this.ttlSeconds)
      .exec();
    return { token, expiresIn: this.ttlSeconds };
  }

  /** Revokes every outstanding token of a user; resolves with how many were still live. */
  async revokeAll(userId: string): Promise<number> {
    const index = userWsTokensKey(userId);
    const hashes = await this.redis.smembers(index);
    if (hashes.length === 0) return 0;
    const [[, removed] = [null, 0]] = (await this.redis.multi().del(...hashes.map(wsTokenKey)).srem(index, ...hashes).exec()) ?? [];
    return Number(removed);
  }

  /**
   * Takes a token out of Redis atomically (GETDEL), so two upgrades racing
   * with one token cannot both succeed. Unknown, expired or used: null.
   */
  async consume(token: string): Promise<TokenRecord | null> {
    // A base64url string of 32 bytes is 43 characters; anything else cannot be ours.
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const raw = await this.redis.getdel(wsTokenKey(hashToken(token)));
    if (raw === null) return null;
    const record = JSON.parse(raw) as TokenRecord;
    return typeof record.user_id === 'string' ? record : null;
  }
}
