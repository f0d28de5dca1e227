import { CloseCode, notificationBody, notificationFrameText } from '@parking-realtime/protocol';
import { broadcastChannel, createRedis, disconnectUser, epochKey, historyKey, TokenStore, userChannel, waitUntilReady } from '@parking-realtime/redis';
import { type RedisTarget, redisTargetFrom } from '@parking-realtime/runtime';
import { startRedisCluster, TestSocket } from '@parking-realtime/testing';
import t from 'tap';
import { buildNotifierApp } from '../src/app.js';
import { loadNotifierConfig } from '../src/config.js';

// The notifier on a Redis Cluster (3 masters, 3 replicas): sharded subscriptions per slot,
// history read per stream, the control channel sharded too.
const cluster = await startRedisCluster();
const config = loadNotifierConfig({ LOG_LEVEL: 'silent', REDIS_CLUSTER_NODES: cluster.seeds });
const target = redisTargetFrom({ REDIS_CLUSTER_NODES: cluster.seeds, REDIS_HOST: '', REDIS_PORT: 0 }) as RedisTarget;
const redis = createRedis(target, { name: 'notifier' });
const subscriberRedis = createRedis(target, { name: 'notifier-sub', maxRetriesPerRequest: null, shardedSubscriber: true });
await Promise.all([redis, subscriberRedis].map((r) => waitUntilReady(r)));
const app = await buildNotifierApp(config, { redis, subscriberRedis });
await app.listen({ port: 0, host: '127.0.0.1' });
const { port } = app.server.address() as { port: number };
const tokens = new TokenStore(redis, 60);
const sockets: TestSocket[] = [];
t.teardown(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await app.close();
  redis.disconnect();
  subscriberRedis.disconnect();
  await cluster.stop();
});

async function connect(userId: string): Promise<TestSocket> {
  const { token } = await tokens.issue(userId);
  const socket = await TestSocket.connect(`ws://127.0.0.1:${port}/ws/notifications/?token=${token}`);
  sockets.push(socket);
  return socket;
}

/** Writes a notification into a channel's stream and publishes it, as event-ingest does on a cluster. */
async function publish(channel: string, stream: 'user:reservation' | 'all:parking_lot', message: string): Promise<void> {
  const body = notificationBody({ type: stream === 'all:parking_lot' ? 'parking_lot' : 'reservation', message, data: {}, created_at: new Date().toISOString() });
  const id = await redis.xadd(historyKey(channel), '*', 't', 'reservation', 'b', body);
  await redis.set(epochKey(channel), id!, 'NX');
  const epoch = (await redis.get(epochKey(channel)))!;
  await redis.spublish(channel, notificationFrameText(id!, stream, epoch, body));
}

t.test('users on different slots get their own notifications and the broadcasts, live and on resume', async (t) => {
  const users = ['n-1', 'n-2', 'n-3', 'n-4'];
  const live = await Promise.all(users.map(connect));
  const subscribed = await Promise.all(live.map((s) => s.subscribe(['reservation', 'parking_lot'])));
  for (const user of users) await publish(userChannel(user, 'reservation'), 'user:reservation', `for ${user}`);
  await publish(broadcastChannel('parking_lot'), 'all:parking_lot', 'for all');
  for (const [i, socket] of live.entries()) {
    await socket.next((f) => f.message === `for ${users[i]}`, 5000);
    await socket.next((f) => f.message === 'for all', 5000);
  }
  t.notOk(live[0]!.received.some((f) => f.message === 'for n-2'), 'nobody gets another user\'s');

  // n-1 leaves with its positions, misses two, and resumes by them.
  const positions = { ...(subscribed[0]!.positions as object) } as Record<string, { id: string; epoch: string }>;
  for (const f of live[0]!.received) if (f.type === 'notification') positions[f.stream as string] = { id: f.id as string, epoch: f.epoch as string };
  await live[0]!.close();
  await publish(userChannel('n-1', 'reservation'), 'user:reservation', 'missed mine');
  await publish(broadcastChannel('parking_lot'), 'all:parking_lot', 'missed broadcast');
  const back = await connect('n-1');
  await back.subscribe(['reservation', 'parking_lot'], { positions });
  await back.next((f) => f.message === 'missed broadcast', 5000);
  t.same(
    back.received.filter((f) => f.type === 'notification').map((f) => f.message).sort(),
    ['missed broadcast', 'missed mine'],
    'exactly what it missed',
  );
  t.notOk(back.received.some((f) => f.type === 'resume_gap'), 'no gap');
});

t.test('a disconnect through the sharded control channel closes the user\'s sockets', async (t) => {
  const socket = await connect('n-gone');
  await socket.subscribe(['reservation']);
  t.ok((await disconnectUser(redis, 'n-gone')).notifiers >= 1, 'a notifier heard it');
  const { code } = await socket.closedWithin(20_000);
  t.equal(code, CloseCode.revoked);
});
