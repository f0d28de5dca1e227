import { createRedis, waitUntilReady } from '@parking-realtime/redis';
import { startRedis, TcpGate, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { ChannelSubscriber } from '../src/channel-subscriber.js';

// Redis' replies to the subscriber connection reach it 20 ms late (a TCP gate that holds each
// chunk back), so a socket can close while its channel's SUBSCRIBE is still unanswered.
const DELAY_MS = 20;
const ROUNDS = 60;

const redisServer = await startRedis();
const gate = await TcpGate.start(redisServer.port, { replyDelayMs: DELAY_MS });
const subscriberRedis = createRedis(gate.url, { name: 'slow-sub', maxRetriesPerRequest: null });
const publisher = createRedis(redisServer.url, { name: 'pub' });
await waitUntilReady(subscriberRedis);
t.teardown(async () => {
  for (const r of [subscriberRedis, publisher]) r.disconnect();
  await gate.stop();
  await redisServer.stop();
});

const heard = new Map<string, number>();
const subscriber = new ChannelSubscriber(subscriberRedis, (channel) => heard.set(channel, (heard.get(channel) ?? 0) + 1));
const numsub = async (channel: string) => ((await publisher.pubsub('NUMSUB', channel)) as [string, number])[1];
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const afterMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

t.test(`a channel released while its SUBSCRIBE is in flight, then asked for again, still receives (${ROUNDS} rounds)`, async (t) => {
  const channels = Array.from({ length: ROUNDS }, (_, i) => `race:${i}`);
  await Promise.all(
    channels.map(async (channel, i) => {
      // One socket asks; it closes while the SUBSCRIBE is unanswered; another socket asks again,
      // at a different moment each round: before, while and after the UNSUBSCRIBE goes out.
      const first = subscriber.ensure([channel]);
      await nextTurn();
      subscriber.release([channel]);
      if (i % 3 === 1) await nextTurn();
      if (i % 3 === 2) await afterMs(DELAY_MS / 2);
      await subscriber.ensure([channel]);
      await first.catch(() => {});
    }),
  );
  for (const channel of channels) await publisher.publish(channel, 'hello');
  await waitFor(() => channels.every((c) => heard.get(c) === 1) || null, 5000, 'every channel to hear its message').catch(() => {});
  const deaf = channels.filter((c) => heard.get(c) !== 1);
  t.same(deaf, [], 'every channel asked for receives the next publish');
  const counts = await Promise.all(channels.map(numsub));
  t.same(new Set(counts), new Set([1]), 'and Redis holds exactly one subscription for each');
});

t.test('a channel released while in flight and not asked for again is left unsubscribed', async (t) => {
  const channel = 'race:gone';
  const first = subscriber.ensure([channel]);
  await nextTurn();
  subscriber.release([channel]);
  await first.catch(() => {});
  await waitFor(async () => (await numsub(channel)) === 0 || null, 5000, 'the channel to be unsubscribed');
  await subscriber.ensure([channel]);
  await publisher.publish(channel, 'again');
  await waitFor(() => heard.get(channel) === 1 || null, 5000, 'the message after asking again');
  t.equal(await numsub(channel), 1, 'asked for again: subscribed again');
});
