import type { NotificationEvent } from '@parking-realtime/protocol';
import { createNotificationProducer, createRedis, InvalidEventError, QUEUE_PREFIX, queueKey, userChannel, userHistoryKey } from '@parking-realtime/server';
import { startRedis, waitFor } from '@parking-realtime/testing';
import { Queue } from 'bullmq';
import pino from 'pino';
import t from 'tap';
import { JobHandoff, type JobHandoffOptions } from '../src/job-handoff.js';
import { NotificationPublisher } from '../src/notification-publisher.js';
import { startNotificationWorker } from '../src/notification-worker.js';

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'handoff', failFast: true });
const publisherRedis = createRedis(redisServer.url, { name: 'publisher' });
const listener = createRedis(redisServer.url, { name: 'listener' });
const publisher = new NotificationPublisher(publisherRedis, { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 86_400 });
const queue = new Queue('notifications', { connection: { url: redisServer.url }, prefix: QUEUE_PREFIX });
const log = pino({ level: 'silent' });
const handoffWith = (over: Partial<JobHandoffOptions> = {}) =>
  new JobHandoff({ redis, queueName: 'notifications', dedupeTtlSeconds: 3600, lockMs: 30_000, publisher, log, ...over });
const handoff = handoffWith();

// What reaches each user's channel, by event tag.
const heard: Array<{ channel: string; tag: string; id: string }> = [];
listener.on('pmessage', (_p: string, channel: string, message: string) => {
  const frame = JSON.parse(message) as { id: string; data: { tag?: string } };
  heard.push({ channel, tag: frame.data.tag ?? '', id: frame.id });
});
await listener.psubscribe('pr:{u:*');

t.teardown(async () => {
  await handoff.close();
  await queue.close();
  for (const r of [redis, publisherRedis, listener]) r.disconnect();
  await redisServer.stop();
});

const event = (tag: string, over: Partial<NotificationEvent> = {}): NotificationEvent => ({
  id: tag,
  type: 'reservation',
  message: 'New reservation created',
  data: { tag },
  user_ids: [`user-${tag}`],
  ...over,
});
const heardOf = (tag: string) => heard.filter((h) => h.tag === tag);
const scriptCalls = async () => {
  const stats = await redis.info('commandstats');
  return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
};

/** A BullMQ worker, as another instance (or this one) runs it beside the handoff. */
function queueWorker(t: { teardown(fn: () => Promise<void>): void }, lockMs = 30_000) {
  const connection = createRedis(redisServer.url, { name: 'worker', maxRetriesPerRequest: null });
  const worker = startNotificationWorker({ queueName: 'notifications', concurrency: 4, lockMs, connection, publisher, log });
  t.teardown(async () => {
    await worker.close();
    connection.disconnect();
  });
  return worker;
}

t.test('an event is stored before send resolves, then published and completed as BullMQ would', async (t) => {
  const { id } = await handoff.send(event('h-1'));
  t.equal(id, 'h-1');
  const stored = await queue.getJob('h-1');
  t.ok(stored, 'the job is in Redis when send resolves');
  t.equal(stored!.name, 'reservation');
  t.match(stored!.data, { id: 'h-1', type: 'reservation', data: { tag: 'h-1' }, user_ids: ['user-h-1'] });
  t.match(stored!.data.created_at, /^\d{4}-\d\d-\d\dT/);
  t.match(stored!.opts, { attempts: 8, jobId: 'h-1', removeOnComplete: { count: 100_000 } }, 'BullMQ reads the options it would have written');

  await waitFor(async () => ((await queue.getJobState('h-1')) === 'completed' ? true : null), 5000, 'the job to complete');
  const [delivered] = heardOf('h-1');
  t.equal(delivered?.channel, userChannel('user-h-1', 'reservation'));
  const done = (await queue.getJob('h-1'))!;
  t.same(done.returnvalue, { notificationId: delivered!.id }, 'the return value names the notification');
  t.equal(done.attemptsMade, 1);
  t.equal(done.attemptsStarted, 1);
  t.ok(done.finishedOn! >= done.processedOn! && done.processedOn! >= done.timestamp, 'timestamps in order');
  t.equal(await redis.exists(`${queueKey('notifications', 'h-1')}:lock`), 0, 'the lock is released');
  t.same(await queue.getJobCounts('active', 'wait'), { active: 0, wait: 0 });
  const events = (await redis.xrange(queueKey('notifications', 'events'), '-', '+')).map(([, f]) => f).filter((f) => f[3] === 'h-1');
  t.same(
    events.map((f) => f[1]),
    ['added', 'active', 'completed'],
    "BullMQ's events stream tells the same story",
  );
});

t.test('the same id sent twice is stored and published once; the first stands', async (t) => {
  const sent = await Promise.all([handoff.send(event('h-dup')), handoff.send(event('h-dup', { message: 'changed' }))]);
  t.same(sent, [{ id: 'h-dup' }, { id: 'h-dup' }]);
  await waitFor(async () => ((await queue.getJobState('h-dup')) === 'completed' ? true : null), 5000, 'the job to complete');
  t.equal((await queue.getJob('h-dup'))!.data.message, 'New reservation created');
  t.equal((await handoff.send(event('h-dup'))).id, 'h-dup', 'accepted again after it completed');
  await handoff.settled();
  t.equal(heardOf('h-dup').length, 1, 'published once');
  t.equal((await redis.xrange(userHistoryKey('user-h-dup'), '-', '+')).length, 1);
});

t.test('a batch is stored with one script call and published and completed with one each', async (t) => {
  const before = await scriptCalls();
  const tags = Array.from({ length: 20 }, (_, i) => `h-batch-${i}`);
  await Promise.all(tags.map((tag) => handoff.send(event(tag))));
  await handoff.settled();
  t.equal((await scriptCalls()) - before, 3, 'store, publish, complete');
  t.same(
    tags.map((tag) => heardOf(tag).length),
    tags.map(() => 1),
  );
  t.ok(((await queue.getJobCounts('completed')).completed ?? 0) >= 20);
});

t.test('an invalid event is refused before anything is stored', async (t) => {
  await t.rejects(handoff.send({ type: 'nope', message: 'x', data: {} } as never), InvalidEventError);
  await t.rejects(handoff.send({ type: 'reservation', message: '', data: {} }), { code: 'invalid_event' });
});

t.test('send rejects while Redis refuses the write, and nothing is half stored', async (t) => {
  const closed = createRedis(redisServer.url, { name: 'closed', failFast: true });
  closed.disconnect();
  const broken = handoffWith({ redis: closed });
  await t.rejects(broken.send(event('h-down')));
  t.equal(await queue.getJob('h-down'), undefined);
});

t.test('a paused queue keeps the job waiting for BullMQ, which publishes it once resumed', async (t) => {
  await queue.pause();
  t.teardown(() => queue.resume());
  await handoff.send(event('h-paused'));
  await handoff.settled();
  t.equal(await queue.getJobState('h-paused'), 'waiting');
  t.equal(heardOf('h-paused').length, 0, 'not published while paused');
  queueWorker(t);
  await queue.resume();
  await waitFor(async () => ((await queue.getJobState('h-paused')) === 'completed' ? true : null), 5000, 'the job to complete');
  t.equal(heardOf('h-paused').length, 1);
});

t.test('a failed publish is a failed attempt recorded by BullMQ: retried after its backoff, published once', async (t) => {
  // A history key of the wrong type fails the publish script for this event only.
  await publisherRedis.set(userHistoryKey('user-h-poisoned'), 'not a stream');
  await handoff.send(event('h-poisoned'));
  await handoff.settled();
  const failed = (await queue.getJob('h-poisoned'))!;
  t.equal(await failed.getState(), 'delayed', 'waiting out its backoff');
  t.equal(failed.attemptsMade, 1);
  t.match(failed.failedReason, /WRONGTYPE/);
  queueWorker(t);
  await publisherRedis.del(userHistoryKey('user-h-poisoned'));
  await waitFor(async () => ((await queue.getJobState('h-poisoned')) === 'completed' ? true : null), 10_000, 'the retry to complete');
  t.equal(heardOf('h-poisoned').length, 1, 'published once');
});

t.test('jobs waiting in the queue are taken, published and completed in batches', async (t) => {
  const producer = createNotificationProducer({ connection: redisServer.url });
  t.teardown(() => producer.close());
  const tags = Array.from({ length: 50 }, (_, i) => `h-wait-${i}`);
  await Promise.all(tags.map((tag) => producer.send(event(tag))));
  t.equal((await queue.getJobCounts('wait')).wait, 50);
  const before = await scriptCalls();
  await handoff.drainWaiting();
  // take 50, take none (drained), publish, complete
  t.equal((await scriptCalls()) - before, 4, 'four script calls for fifty jobs');
  t.same(
    tags.map((tag) => heardOf(tag).length),
    tags.map(() => 1),
  );
  const states = await Promise.all(tags.map((tag) => queue.getJobState(tag)));
  t.same(new Set(states), new Set(['completed']));
  t.equal((await queue.getJob('h-wait-0'))!.attemptsStarted, 1);
});

t.test('a waiting job put there by hand: its own id, and bad data fails at once without retries', async (t) => {
  const raw = new Queue('notifications', { connection: { url: redisServer.url }, prefix: QUEUE_PREFIX });
  t.teardown(() => raw.close());
  await raw.add('parking_lot', { type: 'reservation', message: 'by hand', data: { tag: 'h-hand' }, user_ids: ['user-h-hand'] }, { jobId: 'hand-job' });
  await raw.add('reservation', { type: 'reservation', message: 42, data: 'x' }, { jobId: 'hand-poison', attempts: 5 });
  await handoff.drainWaiting();
  t.equal(await raw.getJobState('hand-job'), 'completed', 'completed under the job id');
  t.equal(heardOf('h-hand').length, 1);
  const poisoned = (await raw.getJob('hand-poison'))!;
  t.equal(await poisoned.getState(), 'failed');
  t.equal(poisoned.attemptsMade, 1, 'not retried');
  t.match(poisoned.failedReason, /invalid_event/);
});

t.test('a paused queue, delayed jobs and prioritized jobs are left to BullMQ', async (t) => {
  const raw = new Queue('notifications', { connection: { url: redisServer.url }, prefix: QUEUE_PREFIX });
  t.teardown(() => raw.close());
  await raw.add('reservation', event('h-later'), { jobId: 'h-later', delay: 60_000 });
  await raw.add('reservation', event('h-first'), { jobId: 'h-first', priority: 1 });
  await queue.pause();
  await raw.add('reservation', event('h-held'), { jobId: 'h-held' });
  await handoff.drainWaiting();
  t.same(
    await Promise.all(['h-later', 'h-first', 'h-held'].map((id) => raw.getJobState(id))),
    ['delayed', 'prioritized', 'waiting'],
  );
  await queue.resume();
  await raw.remove('h-later');
  await raw.remove('h-first');
  await handoff.drainWaiting();
  t.equal(await raw.getJobState('h-held'), 'completed', 'taken once the queue is resumed');
});

t.test('a job held past its lock is taken over by a BullMQ worker, and delivered once', async (t) => {
  // This holder stalls before publishing until long after its lock lapsed, as a frozen process would.
  let resume: () => void = () => {};
  const stalled = new Promise<void>((r) => {
    resume = r;
  });
  const slowPublisher = {
    publish: async (e: Parameters<NotificationPublisher['publish']>[0]) => {
      await stalled;
      return publisher.publish(e);
    },
  };
  const holder = handoffWith({ lockMs: 500, publisher: slowPublisher as NotificationPublisher });
  await holder.send(event('h-stalled'));
  t.equal(await queue.getJobState('h-stalled'), 'active');
  // Earlier workers' 30 s stall-check interval would hold this one's first check back.
  await redis.del(queueKey('notifications', 'stalled-check'));
  queueWorker(t, 500);
  await waitFor(async () => ((await queue.getJobState('h-stalled')) === 'completed' ? true : null), 10_000, 'the stall check to hand it over');
  resume();
  await holder.settled();
  t.equal(heardOf('h-stalled').length, 1, 'the late holder finds it published and leaves the job alone');
  const job = (await queue.getJob('h-stalled'))!;
  t.same(job.returnvalue, { notificationId: heardOf('h-stalled')[0]!.id }, "the taker's completion stands");
});

t.test('completed jobs older than the dedupe window are removed as later ones complete', async (t) => {
  const shortLived = handoffWith({ dedupeTtlSeconds: 1 });
  await shortLived.send(event('h-old'));
  await shortLived.settled();
  t.equal(await queue.getJobState('h-old'), 'completed');
  let n = 0;
  await waitFor(
    async () => {
      await shortLived.send(event(`h-later-${n++}`));
      await shortLived.settled();
      return (await queue.getJob('h-old')) === undefined || null;
    },
    10_000,
    'the old job to be removed',
  );
  t.equal(await redis.zscore(queueKey('notifications', 'completed'), 'h-old'), null);
});
