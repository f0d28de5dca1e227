import type { AcceptedEvent } from '@parking-realtime/protocol';
import { createNotificationProducer } from '@parking-realtime/producer';
import { broadcastChannel, type Cluster, createRedis, historyKey, QUEUE_PREFIX, slotOf, userChannel, waitUntilReady } from '@parking-realtime/redis';
import { type RedisTarget, redisTargetFrom } from '@parking-realtime/runtime';
import { startRedisCluster, waitFor } from '@parking-realtime/testing';
import pino from 'pino';
import t from 'tap';
import { NotificationPublisher } from '../src/notification-publisher.js';
import { startNotificationWorker } from '../src/notification-worker.js';

// Publisher, worker and producer on a Redis Cluster (3 masters, 3 replicas): one call per slot
// group, SPUBLISH, BullMQ under its {pr} prefix.
const cluster = await startRedisCluster();
const target = redisTargetFrom({ REDIS_CLUSTER_NODES: cluster.seeds, REDIS_HOST: '', REDIS_PORT: 0 }) as RedisTarget;
const redis = createRedis(target, { name: 'test' });
const publisherRedis = createRedis(target, { name: 'publisher' });
const workerRedis = createRedis(target, { name: 'worker', maxRetriesPerRequest: null });
const listener = createRedis(target, { name: 'listener', shardedSubscriber: true });
await Promise.all([redis, publisherRedis, workerRedis, listener].map((r) => waitUntilReady(r)));
const publisher = new NotificationPublisher(publisherRedis, { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 3600 });
const worker = startNotificationWorker({ queueName: 'notifications', connection: workerRedis, publisher, log: pino({ level: 'silent' }) });
const producer = createNotificationProducer({ connection: target });
t.teardown(async () => {
  await worker.close();
  await producer.close();
  for (const r of [redis, publisherRedis, workerRedis, listener]) r.disconnect();
  await cluster.stop();
});

const heard: Array<{ channel: string; frame: Record<string, unknown> }> = [];
listener.on('smessage', (channel: string, message: string) => heard.push({ channel, frame: JSON.parse(message) }));

let n = 0;
const event = (over: Partial<AcceptedEvent> = {}): AcceptedEvent => ({
  id: `c-${++n}`,
  type: 'reservation',
  message: `m${n}`,
  data: { n },
  created_at: new Date().toISOString(),
  ...over,
});
const users = Array.from({ length: 30 }, (_, i) => `cu-${i}`);

t.test('a batch across many slots is published once per stream, and heard on sharded channels', async (t) => {
  await listener.ssubscribe(broadcastChannel('parking_lot'));
  for (const u of users.slice(0, 3)) await listener.ssubscribe(userChannel(u, 'reservation'));
  const batch = [event({ user_ids: users }), event({ type: 'parking_lot' }), event({ user_ids: users.slice(0, 10) })];
  t.same(await Promise.all(batch.map((e) => publisher.publish(e))), [true, true, true]);
  t.same(await Promise.all(batch.map((e) => publisher.publish(e))), [false, false, false], 'again: duplicates');
  const lengths = await Promise.all(users.map((u) => redis.xlen(historyKey(userChannel(u, 'reservation')))));
  t.same(lengths, users.map((_, i) => (i < 10 ? 2 : 1)), 'each user\'s stream has its own');
  const got = await waitFor(() => (heard.length >= 3 * 2 + 1 ? heard : null), 5000, 'the sharded messages');
  t.equal(got.filter((h) => h.channel === broadcastChannel('parking_lot')).length, 1);
  t.match(got.find((h) => h.channel === userChannel('cu-0', 'reservation'))!.frame, { stream: 'user:reservation', message: batch[0]!.message });
});

t.test('a stream that fails holds back only itself, also across slots', async (t) => {
  const poisoned = userChannel('cu-poison', 'reservation');
  await redis.set(historyKey(poisoned), 'not a stream');
  const e = event({ user_ids: ['cu-poison', 'cu-fine'] });
  await t.rejects(publisher.publish(e), /WRONGTYPE/);
  t.equal(await redis.xlen(historyKey(userChannel('cu-fine', 'reservation'))), 1, 'the healthy stream got it');
  await redis.del(historyKey(poisoned));
  t.equal(await publisher.publish(e), true, 'the retry publishes the rest');
  t.equal(await redis.xlen(historyKey(userChannel('cu-fine', 'reservation'))), 1, 'and reaches no stream twice');
  t.equal(await redis.xlen(historyKey(poisoned)), 1);
});

t.test('the producer stores on the cluster and the worker publishes', async (t) => {
  const { id } = await producer.send({ type: 'reservation', message: 'queued', data: {}, user_ids: ['cu-q'] });
  t.ok(id);
  await waitFor(async () => ((await redis.xlen(historyKey(userChannel('cu-q', 'reservation')))) === 1 ? true : null), 10_000, 'the worker to publish');
  t.pass('published');
});

t.test('with QUEUE_MIN_REPLICAS the producer answers once the job is on a replica too, and refuses when none took it', async (t) => {
  const safe = createNotificationProducer({ connection: target, minReplicas: 1 });
  t.teardown(() => safe.close());
  const { id } = await safe.send({ type: 'parking_lot', message: 'replicated', data: {} });
  t.ok(id, 'answered: the queue master has a replica that took the job');

  // The queue master's replica hangs: the job is stored, but not safe, and the send says so.
  const queueMaster = await cluster.masterOf(slotOf(QUEUE_PREFIX));
  const replicaPort = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(await (redis as Cluster).nodes('master').find((n) => n.options.port === queueMaster.port)!.info('replication'))?.[1]);
  const replica = cluster.nodes.find((n) => n.port === replicaPort)!;
  replica.pause();
  t.teardown(() => replica.resume());
  await t.rejects(safe.send({ type: 'parking_lot', message: 'not safe', data: {} }), /stored on 0 of 1 replicas/, 'refused (503 over HTTP), not answered as safe');
  replica.resume();
  t.ok((await safe.send({ type: 'parking_lot', message: 'safe again', data: {} })).id, 'answered again once the replica is back');
});
