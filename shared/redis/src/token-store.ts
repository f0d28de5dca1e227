import { createHash, randomBytes } from 'node:crypto';
import { isCluster, type RedisClient } from './redis.js';
import { userWsTokensKey, wsTokenKey } from './redis-names.js';
import { TurnBatch } from '@parking-realtime/runtime';

/** What Redis holds for a live token. The raw token is never stored. */
export interface TokenRecord {
  user_id: string;
  issued_at: string;
}

const TOKEN_BYTES = 32; // 256 random bits

/**
 * A fresh token from the CSPRNG. Its bytes are zeroed once encoded, so the only
 * copy left is the string handed to the user; drawing bytes ahead in a pool
 * would keep recent and upcoming tokens readable in memory.
 */
function newToken(): string {
  const bytes = randomBytes(TOKEN_BYTES);
  const token = bytes.toString('base64url');
  bytes.fill(0);
  return token;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

interface PendingConsume {
  key: string;
  resolve: (raw: string | null) => void;
  reject: (err: unknown) => void;
}

/** Revokes every outstanding ws token of a user; resolves with how many were still live. */
export async function revokeUserTokens(redis: RedisClient, userId: string): Promise<number> {
  const index = userWsTokensKey(userId);
  const hashes = await redis.smembers(index);
  if (hashes.length === 0) return 0;
  // One DEL per token: on a cluster each token key has its own slot.
  const removed = await Promise.all(hashes.map((hash) => redis.del(wsTokenKey(hash))));
  await redis.srem(index, hashes);
  return removed.reduce((sum, n) => sum + n, 0);
}

/** Short-lived, single-use WebSocket tokens, kept in Redis under their SHA-256. */
export class TokenStore {
  /**
   * GETDELs asked for in one turn of the event loop, sent together in one
   * pipeline. The commit only sends: GETDELs are independent, so a turn's
   * pipeline need not wait for the previous one's replies.
   */
  private readonly consumes = new TurnBatch<PendingConsume[]>({
    empty: () => [],
    commit: (batch) => this.sendConsumes(batch),
    fail(batch, err) {
      for (const { reject } of batch) reject(err);
    },
  });

  constructor(
    readonly redis: RedisClient,
    private readonly ttlSeconds: number,
  ) {}

  /** Mints a token for `userId`; the caller hands the raw token to the user and forgets it. */
  async issue(userId: string, now = new Date()): Promise<{ token: string; expiresIn: number }> {
    const token = newToken();
    const record: TokenRecord = { user_id: userId, issued_at: now.toISOString() };
    const hash = hashToken(token);
    const index = userWsTokensKey(userId);
    // The index first, then the token: no live token is ever missing from the index that
    // revocation reads. The two keys lie in different Cluster slots, so they cannot share a step.
    await this.redis.multi().sadd(index, hash).expire(index, this.ttlSeconds).exec();
    await this.redis.set(wsTokenKey(hash), JSON.stringify(record), 'EX', this.ttlSeconds);
    return { token, expiresIn: this.ttlSeconds };
  }

  /** Revokes every outstanding token of a user; resolves with how many were still live. */
  revokeAll(userId: string): Promise<number> {
    return revokeUserTokens(this.redis, userId);
  }

  /**
   * Takes a token out of Redis atomically (GETDEL), so two upgrades racing
   * with one token cannot both succeed. Unknown, expired or used: null.
   */
  async consume(token: string): Promise<TokenRecord | null> {
    // A base64url string of 32 bytes is 43 characters; anything else cannot be ours.
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const raw = await this.getdel(wsTokenKey(hashToken(token)));
    if (raw === null) return null;
    const record = JSON.parse(raw) as TokenRecord;
    return typeof record.user_id === 'string' ? record : null;
  }

  /**
   * GETDEL, batched: during a connection storm many upgrades arrive in one
   * turn of the event loop, and one write and one reply for all of them costs
   * Redis (on the same core) and this process far less than one each.
   */
  private getdel(key: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      this.consumes.gather().push({ key, resolve, reject });
    });
  }

  private sendConsumes(batch: PendingConsume[]): void {
    // On a cluster each GETDEL goes on its own (ioredis routes it, and follows a failover); keys of one pipeline would have to share a node.
    if (batch.length === 1 || isCluster(this.redis)) {
      for (const { key, resolve, reject } of batch) this.redis.getdel(key).then(resolve, reject);
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const { key } of batch) pipeline.getdel(key);
    pipeline.exec().then(
      (results) => {
        batch.forEach(({ resolve, reject }, i) => {
          const [err, raw] = results?.[i] ?? [new Error('no reply'), null];
          if (err) reject(err);
          else resolve(raw as string | null);
        });
      },
      (err: unknown) => {
        for (const { reject } of batch) reject(err);
      },
    );
  }
}
