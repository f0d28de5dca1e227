import { createRedis, disconnectUser, waitUntilReady } from '@parking-realtime/redis';
import { commonEnv, loadEnv, redisTargetFrom } from '@parking-realtime/runtime';

/**
 * `npm run disconnect-user -- <user_id>`: closes every socket of a user on
 * every notifier (logout, ban) and makes it stick, as the internal route
 * does; prints what it did as JSON.
 */
const userId = process.argv[2];
if (!userId || process.argv.length > 3) {
  console.error('usage: npm run disconnect-user -- <user_id>');
  process.exit(2);
}
const env = loadEnv({
  REDIS_URL: commonEnv.REDIS_URL,
  REDIS_HOST: commonEnv.REDIS_HOST,
  REDIS_PORT: commonEnv.REDIS_PORT,
  REDIS_CLUSTER_NODES: commonEnv.REDIS_CLUSTER_NODES,
});
const redis = createRedis(redisTargetFrom(env), { name: 'disconnect-cli', failFast: true });
try {
  await waitUntilReady(redis, 5000);
  console.log(JSON.stringify(await disconnectUser(redis, userId)));
} catch (err) {
  console.error(`could not reach Redis: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
