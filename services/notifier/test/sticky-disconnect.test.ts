import { CloseCode } from '@parking-realtime/protocol';
import { createRedis, disconnectUser, TokenStore, waitUntilReady } from '@parking-realtime/redis';
import { startRedis, TcpGate, TestSocket, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { buildNotifierApp } from '../src/app.js';
import { loadNotifierConfig } from '../src/config.js';

// The notifier reaches Redis through two gates the tests control: one for its commands (token
// and mark reads), one for its subscriber (the control channel).
const redisServer = await startRedis();
const commandGate = await TcpGate.start(redisServer.port);
const subscriberGate = await TcpGate.start(redisServer.port);
const redis = createRedis(redisServer.url, { name: 'test' });
const tokens = new TokenStore(redis, 1800);
const notifierRedis = createRedis(commandGate.url, { name: 'notifier-commands' });
const subscriberRedis = createRedis(subscriberGate.url, { name: 'notifier-sub', maxRetriesPerRequest: null });
const app = await buildNotifierApp(loadNotifierConfig({ LOG_LEVEL: 'silent', REDIS_URL: redisServer.url, WS_MAX_SOCKETS_PER_USER: '100' }), { redis: notifierRedis, subscriberRedis });
await app.listen({ port: 0, host: '127.0.0.1' });
const { port } = app.server.address() as { port: number };
const url = (token: string) => `ws://127.0.0.1:${port}/ws/notifications/?token=${token}`;
const open = async (userId: string) => TestSocket.connect(url((await tokens.issue(userId)).token));
t.teardown(async () => {
  await app.close();
  for (const r of [redis, notifierRedis, subscriberRedis]) r.disconnect();
  await Promise.all([commandGate.stop(), subscriberGate.stop()]);
  await redisServer.stop();
});

t.test('after a disconnect, ws tokens issued before it are refused, even one its revocation missed; a newer one works', async (t) => {
  const outstanding = await tokens.issue('d1');
  const result = await disconnectUser(redis, 'd1');
  t.equal(result.revoked_tokens, 1, 'the outstanding token was deleted');
  t.ok(result.notifiers >= 1, 'the notifier heard it');
  const revoked = await TestSocket.refused(url(outstanding.token));
  t.equal(revoked.status, 403);
  t.equal(JSON.parse(revoked.body).code, 'ws_token_invalid');

  // Written while the disconnect ran, so revocation did not see it: only the mark stops it.
  const missed = await tokens.issue('d1', new Date(result.disconnected_at - 1));
  const refused = await TestSocket.refused(url(missed.token));
  t.equal(refused.status, 403);
  t.match(JSON.parse(refused.body), { code: 'ws_token_invalid', message: /before its user was disconnected/ });

  const newer = await TestSocket.connect(url((await tokens.issue('d1', new Date(result.disconnected_at + 1))).token));
  newer.send({ type: 'ping' });
  t.same(await newer.nextOfType('pong'), { type: 'pong' }, 'a token issued after the disconnect works');
  await newer.close();
});

t.test('a socket whose token was checked before the disconnect, and admitted after it, is closed with 4003', async (t) => {
  const earlier = await open('d2');
  const { token } = await tokens.issue('d2');
  // The upgrade has consumed its token and read "no disconnect" from Redis; it does not know yet.
  const checked = commandGate.holdRepliesAfter('disconnected-at');
  const upgrading = TestSocket.connect(url(token));
  await checked;
  await disconnectUser(redis, 'd2');
  t.equal((await earlier.closedWithin(20_000)).code, CloseCode.revoked, 'the notifier heard the disconnect');
  commandGate.release();
  const late = await upgrading;
  t.equal((await late.closedWithin(20_000)).code, CloseCode.revoked, 'the late socket is closed as soon as it is admitted');
});

t.test('a notifier whose subscriber was reconnecting during a disconnect closes the user\'s sockets once it is back', async (t) => {
  const target = await open('d3');
  const bystander = await open('d3-other');
  subscriberGate.cutAll();
  await waitFor(() => subscriberRedis.status !== 'ready', 5000, 'the subscriber to notice');
  const result = await disconnectUser(redis, 'd3');
  t.equal(result.notifiers, 0, 'no notifier heard the control message');
  subscriberGate.heal();
  await waitUntilReady(subscriberRedis, 10_000);
  t.equal((await target.closedWithin(20_000)).code, CloseCode.revoked, 'closed from the mark, read once the subscriber was back');
  bystander.send({ type: 'ping' });
  t.same(await bystander.nextOfType('pong'), { type: 'pong' }, 'another user keeps their socket');
  await bystander.close();
});

t.test('many upgrades racing one disconnect: every socket with a token issued before it ends closed or refused', async (t) => {
  const user = 'd4';
  const issued = await Promise.all(Array.from({ length: 60 }, () => tokens.issue(user)));
  // The disconnect goes out once a quarter of the sockets are open, while the rest are mid-upgrade.
  let opened = 0;
  let disconnected: Promise<unknown> | undefined;
  const attempts = issued.map(async ({ token }) => {
    try {
      const socket = await TestSocket.connect(url(token));
      if (++opened === issued.length / 4) disconnected = disconnectUser(redis, user);
      return (await socket.closedWithin(20_000)).code;
    } catch (err) {
      return (err as { status?: number }).status ?? -1;
    }
  });
  const outcomes = await Promise.all(attempts);
  await disconnected;
  const refused = outcomes.filter((o) => o === 403).length;
  const closed = outcomes.filter((o) => o === CloseCode.revoked).length;
  t.same(outcomes.filter((o) => o !== CloseCode.revoked && o !== 403), [], `each ended refused (403) or closed (4003): ${refused} refused, ${closed} closed`);
  t.ok(closed >= issued.length / 4, 'the sockets open before the disconnect were closed');
});
