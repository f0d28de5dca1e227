import type { Redis } from 'ioredis';
import { CONTROL_CHANNEL } from './redis-names.js';

/**
 * Asks every notifier to close a user's sockets (logout, ban). Resolves with
 * how many notifiers heard it; each acts at once, so it takes effect well
 * within a second.
 */
export async function disconnectUser(redis: Redis, userId: string): Promise<number> {
  return redis.publish(CONTROL_CHANNEL, JSON.stringify({ type: 'disconnect_user', user_id: userId }));
}
