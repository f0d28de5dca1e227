import type { AcceptedEvent } from '@parking-realtime/protocol';
import { broadcastChannel, createRedis, historyKey, publishedKey } from '@parking-realtime/redis';
import { startRedis, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { loadEventIngestConfig } from '../src/config.js';
import { DEFAULT_HISTORY_MAX_ENTRIES, DEFAULT_HISTORY_WINDOW_SECONDS, NotificationPublisher, type PublisherOptions } from '../src/notification-publisher.js';

// History is kept by time first: the window stays whole past the soft length; older entries go
// once a stream is past it; the hard length bounds a stream, and its dedupe set, at any rate.

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const publisherRedis = createRedis(redisServer.url, { name: 'publisher', autoPipelining: true });
t.teardown(async () => {
  for (const r of [redis, publisherRedis]) r.disconnect();
  await redisServer.stop();
});

let n = 0;
const lotEvent = (type: AcceptedEvent['type']): AcceptedEvent => ({
  id: `window-${++n}`,
  type,
  message: `m${n}`,
  data: { n },
  created_at: new Date().toISOString(),
});
const base: PublisherOptions = { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 3600 };
const history = (type: AcceptedEvent['type']) => historyKey(broadcastChannel(type));
const redisNowMs = async () => {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
};

t.test('with the defaults, a burst far past the soft length stays whole: everything in the window is kept', async (t) => {
  const publisher = new NotificationPublisher(publisherRedis, base);
  const events = Array.from({ length: 3000 }, () => lotEvent('parking_lot'));
  await Promise.all(events.map((e) => publisher.publish(e)));
  t.equal(await redis.xlen(history('parking_lot')), 3000, `3000 entries kept, 30× HISTORY_MAX_LENGTH, all within ${DEFAULT_HISTORY_WINDOW_SECONDS} s`);
  t.equal(await redis.zcard(publishedKey(broadcastChannel('parking_lot'))), 3000, 'and every id is remembered for dedupe');
});

t.test('past the soft length, entries older than the window leave; the newest stays', async (t) => {
  const publisher = new NotificationPublisher(publisherRedis, { ...base, historyWindowSeconds: 1 });
  const type = 'reservation';
  const first = await redisNowMs();
  await Promise.all(Array.from({ length: 300 }, () => publisher.publish(lotEvent(type))));
  t.equal(await redis.xlen(history(type)), 300, 'within the window, all 300 stay');
  await waitFor(async () => (await redisNowMs()) > first + 1500 || null, 10_000, 'the window to pass');
  const last = lotEvent(type);
  await publisher.publish(last);
  const left = await redis.xrange(history(type), '-', '+');
  t.ok(left.length <= 101, `${left.length} left: no more than one stream node of entries older than the window`);
  t.match(left.at(-1)![1].join(' '), `m${n}`, 'the newest is there');
});

t.test('the hard length bounds a stream and its dedupe set at any rate; recent ids are still deduped', async (t) => {
  const publisher = new NotificationPublisher(publisherRedis, { ...base, historyMaxEntries: 100 });
  const type = 'parking_lot';
  await redis.del(history(type), publishedKey(broadcastChannel(type)));
  const events = Array.from({ length: 1000 }, () => lotEvent(type));
  await Promise.all(events.map((e) => publisher.publish(e)));
  const length = await redis.xlen(history(type));
  t.ok(length >= 100 && length < 300, `${length} entries: at least the 100 asked for, trimmed by whole nodes`);
  t.equal(await redis.zcard(publishedKey(broadcastChannel(type))), 100, 'exactly the 100 newest ids remembered');
  t.equal(await publisher.publish(events.at(-1)!), false, 'a retry of a recent event is a duplicate');
  t.equal(await redis.xlen(history(type)), length, 'and adds nothing');
});

t.test('ids leave the dedupe set after the dedupe window', async (t) => {
  const publisher = new NotificationPublisher(publisherRedis, { ...base, dedupeTtlSeconds: 1 });
  const type = 'reservation';
  const early = lotEvent(type);
  const start = await redisNowMs();
  t.equal(await publisher.publish(early), true);
  t.equal(await publisher.publish(early), false, 'within the window: a duplicate');
  await waitFor(async () => (await redisNowMs()) > start + 1500 || null, 10_000, 'the dedupe window to pass');
  await publisher.publish(lotEvent(type));
  t.equal(await redis.zscore(publishedKey(broadcastChannel(type)), early.id), null, 'forgotten once the window passed');
});

t.test('the defaults and their validation', async (t) => {
  const config = loadEventIngestConfig({});
  t.equal(config.historyWindowSeconds, 120);
  t.equal(config.historyMaxEntries, DEFAULT_HISTORY_MAX_ENTRIES);
  t.ok(DEFAULT_HISTORY_MAX_ENTRIES >= 200 * DEFAULT_HISTORY_WINDOW_SECONDS, 'the hard length holds the window at the rated 200 notifications/s');
  t.equal(config.historyMaxLength, 100);
  t.throws(() => loadEventIngestConfig({ HISTORY_WINDOW_SECONDS: '7200', HISTORY_MAX_AGE_SECONDS: '3600' }), /HISTORY_WINDOW_SECONDS must not exceed HISTORY_MAX_AGE_SECONDS/);
  t.throws(() => loadEventIngestConfig({ HISTORY_MAX_LENGTH: '50000' }), /HISTORY_MAX_LENGTH must not exceed HISTORY_MAX_ENTRIES/);
  t.throws(() => loadEventIngestConfig({ HISTORY_MAX_ENTRIES: '10' }), /HISTORY_MAX_ENTRIES/);
  t.throws(() => loadEventIngestConfig({ HISTORY_WINDOW_SECONDS: 'two minutes' }), /HISTORY_WINDOW_SECONDS/);
});
