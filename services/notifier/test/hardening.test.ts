import { createRedis, disconnectUser, TokenStore } from '@parking-realtime/redis';
import { startRedis, TestSocket } from '@parking-realtime/testing';
import t, { type Test } from 'tap';
import { buildNotifierApp } from '../src/app.js';
import { loadNotifierConfig } from '../src/config.js';

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const tokens = new TokenStore(redis, 1800);
t.teardown(async () => {
  redis.disconnect();
  await redisServer.stop();
});

async function notifier(t: Test, env: Record<string, string> = {}) {
  const subscriberRedis = createRedis(redisServer.url, { name: 'test-sub', maxRetriesPerRequest: null });
  const app = await buildNotifierApp(loadNotifierConfig({ LOG_LEVEL: 'silent', REDIS_URL: redisServer.url, ...env }), { redis, subscriberRedis });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    await app.close();
    subscriberRedis.disconnect();
  });
  const { port } = app.server.address() as { port: number };
  return { port, url: (token: string) => `ws://127.0.0.1:${port}/ws/notifications/?token=${token}` };
}

t.test('Origin: another site is refused with 403 before the token is used; the page itself and non-browsers pass', async (t) => {
  const { port, url } = await notifier(t);
  const { token } = await tokens.issue('o1');
  const refused = await TestSocket.refused(url(token), { origin: 'https://evil.example' });
  t.equal(refused.status, 403);
  t.equal(JSON.parse(refused.body).code, 'origin_not_allowed');
  const sameSite = await TestSocket.connect(url(token), { origin: `http://127.0.0.1:${port}` });
  t.pass('the refused attempt did not use the token up; the page\'s own origin passes');
  await sameSite.close();
  const noOrigin = await TestSocket.connect(url((await tokens.issue('o1')).token));
  t.pass('a client without Origin passes');
  await noOrigin.close();
});

t.test('Origin: ALLOWED_ORIGINS admits the listed sites only', async (t) => {
  const { url } = await notifier(t, { ALLOWED_ORIGINS: 'https://app.parking.example' });
  const ok = await TestSocket.connect(url((await tokens.issue('o2')).token), { origin: 'https://app.parking.example' });
  await ok.close();
  const refused = await TestSocket.refused(url((await tokens.issue('o2')).token), { origin: 'https://other.example' });
  t.equal(refused.status, 403);
});

t.test('frames faster than the limit: an error frame, then close 1008', async (t) => {
  const { url } = await notifier(t, { WS_MAX_FRAMES_PER_SECOND: '5' });
  const socket = await TestSocket.connect(url((await tokens.issue('f1')).token));
  for (let i = 0; i < 10; i++) socket.send({ type: 'ping' });
  const error = await socket.nextOfType('error');
  t.equal(error.code, 'rate_limited');
  t.equal((await socket.closedWithin(20_000)).code, 1008);
  t.ok(socket.received.filter((f) => f.type === 'pong').length <= 5, 'no more than the limit was answered');
});

t.test('a user past the socket cap: the oldest is closed with 4011, the rest keep working', async (t) => {
  const { url } = await notifier(t, { WS_MAX_SOCKETS_PER_USER: '2' });
  const open = async () => TestSocket.connect(url((await tokens.issue('cap')).token));
  const first = await open();
  const second = await open();
  const third = await open();
  t.equal((await first.closedWithin(20_000)).code, 4011);
  for (const s of [second, third]) {
    s.send({ type: 'ping' });
    t.same(await s.nextOfType('pong'), { type: 'pong' });
  }
  const other = await TestSocket.connect(url((await tokens.issue('not-cap')).token));
  t.equal(other.ws.readyState, other.ws.OPEN, 'another user is not affected');
  await Promise.all([second.close(), third.close(), other.close()]);
});

t.test('a disconnect on the control channel closes that user\'s sockets (4003) within a second', async (t) => {
  const { url } = await notifier(t);
  const target = await Promise.all([1, 2].map(async () => TestSocket.connect(url((await tokens.issue('banned')).token))));
  const bystander = await TestSocket.connect(url((await tokens.issue('fine')).token));
  const { notifiers } = await disconnectUser(redis, 'banned');
  t.ok(notifiers >= 1, 'a notifier heard it');
  for (const socket of target) {
    const closed = await socket.closedWithin(1000);
    t.equal(closed.code, 4003);
  }
  bystander.send({ type: 'ping' });
  t.same(await bystander.nextOfType('pong'), { type: 'pong' }, 'another user keeps working');
  await bystander.close();
});
