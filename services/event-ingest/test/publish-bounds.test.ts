import { type AcceptedEvent, MAX_USER_IDS } from '@parking-realtime/protocol';
import { createRedis, historyKey, userChannel } from '@parking-realtime/redis';
import { startRedis, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { MAX_TARGETS_PER_CALL, NotificationPublisher } from '../src/notification-publisher.js';

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const publisherRedis = createRedis(redisServer.url, { name: 'publisher' });
const publisher = new NotificationPublisher(publisherRedis, { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 3600 });
t.teardown(async () => {
  for (const r of [redis, publisherRedis]) r.disconnect();
  await redisServer.stop();
});

let n = 0;
const event = (userIds: Array<string | number> | undefined): AcceptedEvent => ({
  id: `bounds-${++n}`,
  type: 'reservation',
  message: `message ${n}`,
  data: { n },
  created_at: new Date().toISOString(),
  ...(userIds && { user_ids: userIds }),
});
const userHistoryKey = (user: string) => historyKey(userChannel(user, 'reservation'));
const users = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/** Script calls Redis has run so far, and the most arguments one command carried (by watching MONITOR). */
async function scriptCalls(): Promise<number> {
  const stats = await redis.info('commandstats');
  return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

t.test('a retried event never reaches a target twice, whichever target failed first', async (t) => {
  // 600 targets, each its own stream group (one call each); the one that fails is the 401st.
  const targets = users('once', 600);
  const poisoned = targets[400]!;
  await redis.set(userHistoryKey(poisoned), 'not a stream');
  const e = event(targets);
  await t.rejects(publisher.publish(e), /WRONGTYPE/, 'the first attempt fails at the poisoned target');
  const reached = async () => Promise.all(targets.map((u) => redis.exists(userHistoryKey(u)).then((x) => (u === poisoned ? 0 : x))));
  const first = await reached();
  t.equal(first.filter(Boolean).length, 599, 'every other target got it: a failure holds back only its own stream');
  await redis.del(userHistoryKey(poisoned));
  t.equal(await publisher.publish(e), true, 'the retry publishes the rest');
  const lengths = await Promise.all(targets.map((u) => redis.xlen(userHistoryKey(u))));
  t.same(new Set(lengths), new Set([1]), 'every target has it exactly once');
  t.equal(await publisher.publish(e), false, 'a third attempt is a duplicate');
});

t.test('a script call carries a bounded number of targets: seven events of the most users each', async (t) => {
  const events = Array.from({ length: 7 }, (_, i) => event(users(`wide-${i}`, MAX_USER_IDS)));
  const before = await scriptCalls();
  const fresh = await Promise.all(events.map((e) => publisher.publish(e)));
  t.ok(fresh.every((f) => f === true), 'all published');
  const calls = (await scriptCalls()) - before;
  t.ok(calls >= Math.ceil((7 * MAX_USER_IDS) / MAX_TARGETS_PER_CALL), `${calls} calls of at most ${MAX_TARGETS_PER_CALL} targets`);
  const lengths = await Promise.all(events.flatMap((e) => e.user_ids!.map((u) => redis.xlen(userHistoryKey(String(u))))));
  t.same(new Set(lengths), new Set([1]), 'each of the 7000 users has it once');
});

t.test('history of one-off users expires with the max age, and Redis memory returns', async (t) => {
  const brief = new NotificationPublisher(publisherRedis, { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 1 });
  const memory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const keys = async () => Number(/keys=(\d+)/.exec(await redis.info('keyspace'))?.[1] ?? 0);
  const keysBefore = await keys();
  const before = await memory();
  // 5000 users who get one notification each and never another.
  for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 100 }, (_, j) => brief.publish(event(users(`oneoff-${i}-${j}`, 10)))));
  const grown = await memory();
  t.ok(grown - before > 1_000_000, `5000 streams take memory (${grown - before} bytes)`);
  const ttls = await Promise.all(users('oneoff-0-0', 10).map((u) => redis.pttl(userHistoryKey(u))));
  // -2: already gone (a busy machine may take longer than the max age to publish them all); -1 would be no expiry.
  t.ok(ttls.every((ms) => ms === -2 || (ms > 0 && ms <= 1000)), `each stream expires with the max age (${ttls.join(', ')} ms left)`);
  // 5000 dedupe sets (one per stream, for the dedupe window) stay; the 5000 streams and their epochs go.
  // Redis expires keys by sampling: on a busy machine that takes a while, hence the generous wait.
  await waitFor(async () => ((await keys()) <= keysBefore + 5000 ? true : null), 60_000, 'the streams to expire');
  const after = await memory();
  t.ok(after - before < (grown - before) / 5, `memory returned: ${before} → ${grown} → ${after} bytes`);
});

t.test('across calls too, a failure blocks its stream, and nothing else', async (t) => {
  const targets = users('across', 600);
  await redis.set(userHistoryKey(targets[400]!), 'not a stream');
  const wide = event(targets);
  const sharesTheStream = event([targets[400]!]);
  const sharesAnother = event([targets[500]!]);
  const outcomes = await Promise.allSettled([wide, sharesTheStream, sharesAnother].map((e) => publisher.publish(e)));
  t.same(outcomes.map((o) => o.status), ['rejected', 'rejected', 'fulfilled']);
  t.equal(await redis.xlen(userHistoryKey(targets[599]!)), 1, 'the failed event\'s later calls still reached their streams');
  t.equal(await redis.xlen(userHistoryKey(targets[500]!)), 2, 'a stream the failure did not touch goes on, in order');
  await redis.del(userHistoryKey(targets[400]!));
  const retried = await Promise.all([wide, sharesTheStream, sharesAnother].map((e) => publisher.publish(e)));
  t.same(retried, [true, true, false]);
  const lengths = await Promise.all(targets.map((u) => redis.xlen(userHistoryKey(u))));
  t.same(lengths.filter((n) => n !== 1).length, 2, 'every target once, but the two that also got a second event');
  const bodies = (await redis.xrange(userHistoryKey(targets[400]!), '-', '+')).map(([, f]) => JSON.parse(`{${f[3]}`).message);
  t.same(bodies, [wide.message, sharesTheStream.message], 'the failed stream got both, in order');
});
