import { createNotificationProducer } from '@parking-realtime/producer';
import { createRedis, historyKey, publishedKey, userChannel } from '@parking-realtime/redis';
import { startRedis, waitFor } from '@parking-realtime/testing';
import fc from 'fast-check';
import pino from 'pino';
import t from 'tap';
import { NotificationPublisher } from '../src/notification-publisher.js';
import { startNotificationWorker } from '../src/notification-worker.js';

// Every word BullMQ uses as a key suffix or a key of its own: as event ids they once named
// BullMQ's keys (`wait` turned the wait list into a hash). Event ids are not job ids any more.
const BULLMQ_WORDS = [
  'wait', 'waiting', 'paused', 'active', 'prioritized', 'delayed', 'completed', 'failed', 'stalled',
  'stalled-check', 'meta', 'events', 'marker', 'id', 'limiter', 'pc', 'de', 'repeat', 'metrics', 'lock',
  'logs', 'dependencies', 'processed', 'unsuccessful', 'waiting-children', 'notifications',
];
const ID_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-'];

/** Any id the EventId schema allows (up to 128 characters of its alphabet, not all digits), and BullMQ's words. */
const eventId = fc.oneof(
  fc.constantFrom(...BULLMQ_WORDS),
  fc.constantFrom(...BULLMQ_WORDS).map((w) => `${w}:x`.replace(':', '.')),
  fc.array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 128 }).map((cs) => cs.join('')).filter((s) => !/^[0-9]+$/.test(s)),
);

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const workerRedis = createRedis(redisServer.url, { name: 'worker', maxRetriesPerRequest: null });
const publisherRedis = createRedis(redisServer.url, { name: 'publisher' });
const producer = createNotificationProducer({ connection: redisServer.url });
const publisher = new NotificationPublisher(publisherRedis, { dedupeTtlSeconds: 3600, historyMaxLength: 1000, historyMaxAgeSeconds: 3600 });
const worker = startNotificationWorker({ queueName: 'notifications', connection: workerRedis, publisher, log: pino({ level: 'silent' }) });
t.teardown(async () => {
  await producer.close();
  await worker.close();
  for (const r of [redis, workerRedis, publisherRedis]) r.disconnect();
  await redisServer.stop();
});

let run = 0;
t.test('an event id of any allowed form is stored, published once and deduplicated', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(eventId, { minLength: 1, maxLength: 6 }), async (ids) => {
      run += 1;
      const user = `prop-${run}`;
      // Each id sent twice, the second time while the first may still be on its way.
      const sends = [...ids, ...ids].map((id) => producer.send({ id, type: 'reservation', message: `m ${id}`, data: {}, user_ids: [user] }));
      const answers = await Promise.all(sends);
      if (answers.some((a, i) => a.id !== [...ids, ...ids][i])) return false;
      // The queue and BullMQ's own keys still work: every job is taken and completed.
      await waitFor(async () => {
        const counts = await producer.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
        return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) === 0 ? counts : null;
      }, 10_000, 'the queue to drain');
      if ((await producer.queue.getJobCounts('failed')).failed !== 0) return false;
      const channel = userChannel(user, 'reservation');
      const history = await redis.xrange(historyKey(channel), '-', '+');
      const messages = history.map(([, fields]) => JSON.parse(`{${fields[fields.indexOf('b') + 1]}`).message as string);
      // A later run may draw the same id: it starts from a clean dedupe window.
      await redis.zrem(publishedKey(channel), ...ids);
      // Published exactly once each, in the order sent.
      return JSON.stringify(messages) === JSON.stringify(ids.map((id) => `m ${id}`));
    }),
    { numRuns: 60 },
  );
  t.pass('every run held');
});
