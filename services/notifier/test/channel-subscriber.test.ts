import { createRedis, waitUntilReady } from '@parking-realtime/redis';
import { startRedis, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { ChannelSubscriber, subscribeAll, unsubscribeAll } from '../src/channel-subscriber.js';

// Spreading this many channels into one call overflows the stack (RangeError:
// Maximum call stack size exceeded) on Node 20's default stack; the old
// `subscribe(...toSubscribe)` threw at 150,000.
const MANY = 150_000;

const redisServer = await startRedis();
const subscriberRedis = createRedis(redisServer.url, { name: 'test-sub', maxRetriesPerRequest: null });
const publisher = createRedis(redisServer.url, { name: 'test-pub' });
t.teardown(async () => {
  for (const r of [subscriberRedis, publisher]) r.disconnect();
  await redisServer.stop();
});
await waitUntilReady(subscriberRedis);

/** Resolves with the first message on `channel`, or fails after `timeoutMs`. */
function messageOn(received: Map<string, (payload: string) => void>, channel: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${channel} within ${timeoutMs} ms`)), timeoutMs);
    received.set(channel, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

const numsub = async (channel: string) => ((await publisher.pubsub('NUMSUB', channel)) as [string, number])[1];

t.test(`${MANY} channels asked for at once are subscribed, receive, and are released, without overflowing the stack`, async (t) => {
  const waiting = new Map<string, (payload: string) => void>();
  const subscriber = new ChannelSubscriber(subscriberRedis, (channel, payload) => waiting.get(channel)?.(payload.toString()));
  const channels = Array.from({ length: MANY }, (_, i) => `test:many:${i}`);
  const first = channels[0]!;
  const last = channels[MANY - 1]!;

  await subscriber.ensure(channels);
  t.equal(subscriber.channelCount, MANY, 'every channel is counted as subscribed');
  t.equal(await numsub(first), 1, 'Redis has the first channel');
  t.equal(await numsub(last), 1, 'Redis has the last channel');

  const arrived = messageOn(waiting, last);
  await publisher.publish(last, 'hello');
  t.equal(await arrived, 'hello', 'a publish on the last channel arrives');

  subscriber.release(channels);
  await waitFor(async () => (await numsub(last)) === 0 && (await numsub(first)) === 0, 20_000, 'the channels to be unsubscribed');
  t.equal(subscriber.channelCount, 0, 'nothing is left subscribed');
});

t.test(`subscribeAll (the app's restore after a lost subscription) takes ${MANY} channels in one call`, async (t) => {
  const redis = createRedis(redisServer.url, { name: 'test-sub-2', maxRetriesPerRequest: null });
  t.teardown(() => redis.disconnect());
  await waitUntilReady(redis);
  const channels = Array.from({ length: MANY }, (_, i) => `test:restore:${i}`);
  const last = channels[MANY - 1]!;
  const arrived = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${last} within 10000 ms`)), 10_000);
    redis.on('message', (channel: string, payload: string) => {
      if (channel !== last) return;
      clearTimeout(timer);
      resolve(payload);
    });
  });

  await subscribeAll(redis, channels);
  t.equal(await numsub(channels[0]!), 1, 'Redis has the first channel');
  await publisher.publish(last, 'restored');
  t.equal(await arrived, 'restored', 'a publish on the last channel arrives');

  await unsubscribeAll(redis, channels);
  t.equal(await numsub(last), 0, 'unsubscribeAll resolves once Redis has let go of the last channel');
});
