import type { AcceptedEvent } from '@parking-realtime/protocol';
import { createNotificationProducer, InvalidEventError } from '@parking-realtime/producer';
import { broadcastChannel, createRedis, epochKey, historyKey, QUEUE_PREFIX, userChannel } from '@parking-realtime/redis';
import { startRedis, waitFor } from '@parking-realtime/testing';
import { Queue } from 'bullmq';
import pino from 'pino';
import t from 'tap';
import { NotificationPublisher } from '../src/notification-publisher.js';
import { startNotificationWorker } from '../src/notification-worker.js';

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'publisher' });
const listener = createRedis(redisServer.url, { name: 'listener' });
const workerRedis = createRedis(redisServer.url, { name: 'worker', maxRetriesPerRequest: null });
const publisher = new NotificationPublisher(redis, { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 86_400 });
const worker = startNotificationWorker({
  queueName: 'notifications',
  connection: workerRedis,
  publisher,
  log: pino({ level: 'silent' }),
});
const producer = createNotificationProducer({ connection: redisServer.url });

const heard: Array<{ channel: string; frame: Record<string, unknown> }> = [];
listener.on('message', (channel: string, message: string) => heard.push({ channel, frame: JSON.parse(message) }));
await listener.psubscribe('pr:*');
listener.on('pmessage', (_p: string, channel: string, message: string) => heard.push({ channel, frame: JSON.parse(message) }));

t.teardown(async () => {
  await worker.close();
  await producer.close();
  for (const r of [redis, listener, workerRedis]) r.disconnect();
  await redisServer.stop();
});

const userHistory = (user: string, type: 'reservation' | 'parking_lot' = 'reservation') => historyKey(userChannel(user, type));
const idsIn = async (key: string) => (await redis.xrange(key, '-', '+')).map(([id]) => id);

const event = (over: Partial<AcceptedEvent> = {}): AcceptedEvent => ({
  id: `e-${Math.random().toString(36).slice(2)}`,
  type: 'reservation',
  message: 'New reservation created',
  data: { reservation_id: 123, status: 'active' },
  created_at: new Date().toISOString(),
  ...over,
});

t.test('a targeted event is published on each user\'s channel and kept in each user\'s stream', async (t) => {
  const e = event({ user_ids: [1, '2', 1] });
  t.equal(await publisher.publish(e), true);
  const frames = await waitFor(() => {
    const got = heard.filter((h) => h.frame.created_at === e.created_at);
    return got.length === 2 ? got : null;
  });
  t.same(frames.map((f) => f.channel).sort(), [userChannel('1', 'reservation'), userChannel('2', 'reservation')].sort());
  const [id] = await idsIn(userHistory('1'));
  const frame = frames.find((f) => f.channel === userChannel('1', 'reservation'))!.frame;
  t.same(frame, {
    type: 'notification',
    id,
    stream: 'user:reservation',
    epoch: await redis.get(epochKey(userChannel('1', 'reservation'))),
    notification_type: 'reservation',
    message: 'New reservation created',
    data: { reservation_id: 123, status: 'active' },
    created_at: e.created_at,
  });
  t.equal(frame.epoch, id, 'a new stream\'s epoch is its first id');
  t.equal((await idsIn(userHistory('1'))).length, 1, 'a duplicated user id gets it once');
});

t.test('an event published twice is published once', async (t) => {
  const e = event({ type: 'parking_lot', user_ids: undefined, data: { lot: 'dup' } });
  t.equal(await publisher.publish(e), true);
  t.equal(await publisher.publish(e), false);
  t.equal((await idsIn(historyKey(broadcastChannel('parking_lot')))).length, 1);
});

t.test('each stream numbers its notifications in publish order, and keeps its epoch', async (t) => {
  const user = 'numbered';
  for (let i = 0; i < 50; i++) {
    await publisher.publish(event({ user_ids: i % 2 ? [user] : undefined, type: i % 3 ? 'reservation' : 'parking_lot' }));
  }
  for (const key of [userHistory(user), userHistory(user, 'parking_lot'), historyKey(broadcastChannel('reservation'))]) {
    const ids = await idsIn(key);
    const order = (id: string) => id.split('-').map(Number) as [number, number];
    for (let i = 1; i < ids.length; i++) {
      const [am, as] = order(ids[i - 1]!);
      const [bm, bs] = order(ids[i]!);
      t.ok(bm > am || (bm === am && bs > as), `${ids[i]} > ${ids[i - 1]}`);
    }
  }
  const epoch = await redis.get(epochKey(userChannel(user, 'reservation')));
  t.equal(epoch, (await idsIn(userHistory(user)))[0], 'the epoch stays the first id while the stream lives');
});

t.test('events published in one turn share a script call per stream group, in call order', async (t) => {
  const twice = event({ user_ids: ['batch-1'] });
  const batch = [event({ user_ids: ['batch-1'] }), twice, event({ user_ids: undefined }), twice, event({ user_ids: ['batch-2', 'batch-1'] })];
  const scriptCalls = async () => {
    const stats = await redis.info('commandstats');
    return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  const callsBefore = await scriptCalls();
  const fresh = await Promise.all(batch.map((e) => publisher.publish(e)));
  t.equal((await scriptCalls()) - callsBefore, 3, 'one script call for each of batch-1, batch-2 and the broadcast stream');
  t.same(fresh, [true, true, true, false, true], 'the same id again in the same batch is published once');
  const bodies = (await redis.xrange(userHistory('batch-1'), '-', '+')).map(([, fields]) => JSON.parse(`{${fields[3]}`).created_at);
  t.same(bodies, [batch[0]!.created_at, twice.created_at, batch[4]!.created_at], 'in call order');
});

t.test('an event whose commands fail blocks its streams: what follows on them waits for the retry, the rest is published', async (t) => {
  await redis.set(userHistory('poisoned'), 'not a stream');
  const before = event({ user_ids: ['ok-1'] });
  const poisoned = event({ user_ids: ['poisoned'] });
  const unrelated = event({ user_ids: ['ok-2'] });
  const behind = event({ user_ids: ['ok-3', 'poisoned'] });
  const behindThat = event({ user_ids: ['poisoned'] });
  const batch = [before, poisoned, unrelated, behind, behindThat];
  const outcomes = await Promise.allSettled(batch.map((e) => publisher.publish(e)));
  t.same(
    outcomes.map((o) => o.status),
    ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected'],
    'the unrelated event goes on; what shares the failed stream waits',
  );
  t.match(outcomes[1], { reason: { message: /WRONGTYPE/ } });
  t.equal((await idsIn(userHistory('ok-3'))).length, 1, 'the part of an event on a healthy stream is published');
  await redis.del(userHistory('poisoned'));
  const retried = await Promise.all(batch.map((e) => publisher.publish(e)));
  t.same(retried, [false, true, false, true, true], 'the retry publishes only what was not published');
  t.equal((await idsIn(userHistory('ok-3'))).length, 1, 'a retry never reaches a target twice');
  for (const user of ['ok-1', 'ok-2']) t.equal((await idsIn(userHistory(user))).length, 1, `${user} has it once`);
  const poisonedBodies = (await redis.xrange(userHistory('poisoned'), '-', '+')).map(([, f]) => JSON.parse(`{${f[3]}`).created_at);
  t.same(poisonedBodies, [poisoned.created_at, behind.created_at, behindThat.created_at], 'the poisoned user gets all three, once each, in order');
});

t.test('the producer validates before enqueueing', async (t) => {
  await t.rejects(producer.send({ type: 'nope', message: 'x', data: {} } as never), InvalidEventError);
  await t.rejects(producer.send({ type: 'reservation', message: '', data: {} }), { code: 'invalid_event' });
});

t.test('an event sent with the producer is published by the worker', async (t) => {
  const { id } = await producer.send({ type: 'parking_lot', message: 'Lot B full', data: { lot_id: 'B', free: 0 } });
  const got = await waitFor(() => heard.find((h) => h.channel === broadcastChannel('parking_lot') && (h.frame.data as { lot_id?: string }).lot_id === 'B'));
  t.equal(got.frame.message, 'Lot B full');
  t.ok(id);
  await waitFor(async () => (await producer.queue.getJobCounts('waiting', 'active')).waiting === 0 || null);
  t.pass('its job left the queue');
});

t.test('a job put on the queue by hand with bad data fails at once and is not retried', async (t) => {
  const raw = new Queue('notifications', { connection: { url: redisServer.url }, prefix: QUEUE_PREFIX });
  t.teardown(() => raw.close());
  const job = await raw.add('reservation', { type: 'reservation', message: 42, data: 'x' }, { jobId: 'poison-1', attempts: 5 });
  await waitFor(async () => (await job.isFailed()) || null, 5000, 'the job to fail');
  const failed = (await raw.getJob('poison-1'))!;
  t.equal(failed.attemptsMade, 1, 'not retried');
  t.match(failed.failedReason, /invalid_event/);
});

t.test('a job put on the queue by hand without id or created_at takes the job\'s', async (t) => {
  const raw = new Queue('notifications', { connection: { url: redisServer.url }, prefix: QUEUE_PREFIX });
  t.teardown(() => raw.close());
  await raw.add('parking_lot', { type: 'parking_lot', message: 'by hand', data: { lot: 'C' } }, { jobId: 'hand-1' });
  const got = await waitFor(() => heard.find((h) => h.frame.message === 'by hand'));
  t.match(got.frame.created_at, /^\d{4}-/);
});

t.test('history keeps only entries younger than its age limit, and a stream expires with it', async (t) => {
  const brief = new NotificationPublisher(redis, { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 1 });
  // An entry written two seconds ago, as an earlier publish would have left it.
  const old = `${Date.now() - 2000}-0`;
  await redis.xadd(userHistory('aged'), old, 't', 'reservation', 'b', '}');
  await brief.publish(event({ user_ids: ['aged'] }));
  const ids = await idsIn(userHistory('aged'));
  t.equal(ids.length, 1, 'the aged entry was trimmed');
  t.not(ids[0], old);
  const ttl = await redis.pttl(userHistory('aged'));
  t.ok(ttl > 0 && ttl <= 1000, `the stream expires with the max age (pttl ${ttl})`);
});

t.test('a job put on the queue by hand with data nested past the limit fails at once, and the worker goes on', async (t) => {
  const raw = new Queue('notifications', { connection: { url: redisServer.url }, prefix: QUEUE_PREFIX });
  t.teardown(() => raw.close());
  // 40 levels: past the limit, yet shallow enough for BullMQ's own JSON.stringify in add().
  const job = await raw.add('reservation', JSON.parse(`{"type":"reservation","message":"deep","data":${'{"d":'.repeat(40)}1${'}'.repeat(40)}}`), { jobId: 'deep-1', attempts: 5 });
  await waitFor(async () => (await job.isFailed()) || null, 5000, 'the job to fail');
  const failed = (await raw.getJob('deep-1'))!;
  t.equal(failed.attemptsMade, 1, 'not retried');
  t.match(failed.failedReason, /invalid_event: \/data/);
  await raw.add('parking_lot', { type: 'parking_lot', message: 'after deep', data: {} });
  await waitFor(() => heard.find((h) => h.frame.message === 'after deep'), 5000, 'the next job');
  t.pass('the worker went on');
});
