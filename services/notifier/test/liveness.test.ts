import { notificationBody, notificationFrameText } from '@parking-realtime/protocol';
import { broadcastChannel, createRedis, TokenStore } from '@parking-realtime/redis';
import { metricValue, startRedis, TestSocket, waitFor } from '@parking-realtime/testing';
import t, { type Test } from 'tap';
import { buildNotifierApp } from '../src/app.js';
import { loadNotifierConfig } from '../src/config.js';

const MAX_BUFFERED = 64 * 1024;
/** A parking_lot broadcast's frame, as event-ingest publishes it. */
const lotFrame = (id: string, message: string, data: Record<string, unknown> = {}) =>
  notificationFrameText(id, 'all:parking_lot', '1-0', notificationBody({ type: 'parking_lot', message, data, created_at: new Date().toISOString() }));
const redisServer = await startRedis({ signals: true });
const redis = createRedis(redisServer.url, { name: 'test' });
const publisher = createRedis(redisServer.url, { name: 'test-pub' });
const tokens = new TokenStore(redis, 1800);
t.teardown(async () => {
  for (const r of [redis, publisher]) r.disconnect();
  await redisServer.stop();
});

/** A notifier of its own for one test, with the given settings. */
async function notifier(t: Test, env: Record<string, string>) {
  const subscriberRedis = createRedis(redisServer.url, { name: 'test-sub', maxRetriesPerRequest: null });
  const app = await buildNotifierApp(loadNotifierConfig({ LOG_LEVEL: 'silent', REDIS_URL: redisServer.url, ...env }), {
    redis,
    subscriberRedis,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    await app.close();
    subscriberRedis.disconnect();
  });
  const { port } = app.server.address() as { port: number };
  return {
    metric: async (name: string, labels = '') => metricValue((await app.inject({ url: '/metrics' })).body, name, labels),
    inject: (url: string) => app.inject({ url }),
    connect: async (userId: string) => {
      const { token } = await tokens.issue(userId);
      const socket = await TestSocket.connect(`ws://127.0.0.1:${port}/ws/notifications/?token=${token}`);
      await socket.subscribe(['parking_lot']);
      return socket;
    },
  };
}

/** The client's TCP socket under ws: pausing it stops reading (and answering pings). */
const rawSocket = (s: TestSocket) => (s.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;

t.test('a client that reads nothing is cut off at the cap (4008); the others keep receiving', async (t) => {
  const { metric, connect } = await notifier(t, { WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED), HEARTBEAT_INTERVAL_MS: '600000' });
  const slow = await connect('slow');
  const fast = await connect('fast');
  rawSocket(slow).pause();
  const pad = 'x'.repeat(8 * 1024);
  let sent = 0;
  // Publish until the server gives up on the slow one; each waits for the fast one to receive it.
  while ((await metric('ws_connections_dropped_total', 'reason="slow_consumer"')) === 0) {
    sent += 1;
    if (sent > 2000) throw new Error('the slow consumer was never cut off');
    const frame = lotFrame(`1-${sent}`, 'm', { pad });
    await publisher.publish(broadcastChannel('parking_lot'), frame);
    await fast.next((f) => f.id === `1-${sent}`);
  }
  t.ok(sent * pad.length > MAX_BUFFERED, `cut off after ${sent} notifications of 8 KiB`);
  rawSocket(slow).resume();
  const closed = await slow.closedWithin(20_000);
  t.equal(closed.code, 4008, 'told why: slow consumer');
  t.ok(slow.notifications().length < sent, 'it did not get everything (it will resume)');
  t.equal(fast.notifications().length, sent, 'the fast one got every notification');
  await fast.close();
});

t.test('a socket that stops answering pings is dropped after two intervals', async (t) => {
  const { metric, connect } = await notifier(t, { HEARTBEAT_INTERVAL_MS: '250' });
  const before = await metric('ws_connections_dropped_total', 'reason="heartbeat_timeout"');
  const silent = await connect('silent');
  const healthy = await connect('healthy');
  rawSocket(silent).pause();
  await waitFor(async () => (await metric('ws_connections_dropped_total', 'reason="heartbeat_timeout"')) === before + 1, 5000, 'the drop');
  await waitFor(async () => (await metric('ws_connections_open')) === 1, 5000, 'the gauge to count only the healthy one');
  t.equal(healthy.ws.readyState, healthy.ws.OPEN, 'a socket that answers stays');
  await healthy.close();
});

t.test('after Redis comes back, every socket is asked to resume (4010); readyz says 503 meanwhile', async (t) => {
  const { connect, inject } = await notifier(t, { SHUTDOWN_SPREAD_MS: '0' });
  const before = await connect('r1');
  await redisServer.kill();
  await waitFor(async () => (await inject('/readyz')).statusCode === 503, 5000, 'readyz to report the outage');
  await redisServer.restart();
  const closed = await before.closedWithin(20_000);
  t.equal(closed.code, 4010, 'told to resume');
  await waitFor(async () => (await inject('/readyz')).statusCode === 200, 10_000, 'readyz to recover');
  const after = await connect('r1');
  const frame = lotFrame('9-0', 'after');
  await publisher.publish(broadcastChannel('parking_lot'), frame);
  t.equal((await after.nextOfType('notification')).message, 'after', 'delivery works again');
  await after.close();
});
