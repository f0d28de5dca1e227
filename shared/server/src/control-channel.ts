import { isCluster, type RedisClient } from './redis.js';
import { CONTROL_CHANNEL } from './redis-names.js';

/**
 * Asks every notifier to close a user's sockets (logout, ban). Resolves with
 * how many notifiers heard it; each acts at once, so it takes effect well
 * within a second.
 */
export async function disconnectUser(redis: RedisClient, userId: string): Promise<number> {
  const message = JSON.stringify({ type: 'disconnect_user', user_id: userId });
  // On a cluster the control channel is a sharded one, like every channel notifiers subscribe to.
  return isCluster(redis) ? Number(await redis.spublish(CONTROL_CHANNEL, message)) : redis.publish(CONTROL_CHANNEL, message);
}
