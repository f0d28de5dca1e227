import type { NotificationFrame, NotificationsResponse, StreamPositions } from '@parking-realtime/protocol';
import { answerWithPositions, clockTimers, type ScriptedConnection, ScriptedNotifier, sendResumeGap, simpleJwtAccessToken, startRedis } from '@parking-realtime/testing';
import { createClock } from '@sinonjs/fake-timers';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
// The real auth-token and the real publisher on a real Redis (test-only, by path): the client
// is checked against the endpoint itself, its query and answer, not against a copy of them.
import { buildAuthTokenApp } from '../../../services/auth-token/src/app.js';
import { loadAuthTokenConfig } from '../../../services/auth-token/src/config.js';
import { NotificationPublisher } from '../../../services/event-ingest/src/notification-publisher.js';
import { createRedis, epochKey, historyKey, userChannel } from '../../../shared/redis/src/index.js';
import { type ClientEvents, type NotificationClientOptions, NotificationClient } from '../src/index.js';

const SECRET = 'catch-up-test-secret-that-is-long-enough-01';
const USER = 42;
const JWT = simpleJwtAccessToken(SECRET, USER, {}, 3600);

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const appRedis = redis.duplicate();
const authToken = await buildAuthTokenApp(loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: redisServer.url, LOG_LEVEL: 'silent' }), { redis: appRedis });
/** Every request the notifications endpoint got: what the client asked, with what. */
const requests: Array<{ path: string; query: URLSearchParams; authorization: string | undefined }> = [];
authToken.addHook('onRequest', async (request) => {
  if (request.headers['x-test-truth']) return; // the test's own reads
  const [path = '', query = ''] = request.url.split('?');
  requests.push({ path, query: new URLSearchParams(query), authorization: request.headers.authorization });
});
const authTokenUrl = await authToken.listen({ host: '127.0.0.1', port: 0 });
const publisher = new NotificationPublisher(redis, { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 86_400 });
const scripted = await ScriptedNotifier.start();
t.teardown(async () => {
  await scripted.stop();
  await authToken.close();
  redis.disconnect();
  appRedis.disconnect();
  await redisServer.stop();
});

t.beforeEach(async () => {
  await redis.flushall();
  requests.length = 0;
  scripted.reset();
  scripted.autoAnswerSubscribe = false;
});

let seq = 0;
async function publish(message: string): Promise<void> {
  seq += 1;
  await publisher.publish({ id: `ev-${seq}`, type: 'reservation', message, data: { seq }, user_ids: [USER], created_at: new Date().toISOString() });
}

/** The user's history as the endpoint serves it (the truth the client must match). */
async function history(query = 'types=reservation'): Promise<NotificationsResponse> {
  const res = await authToken.inject({ method: 'GET', url: `/api/notifications/?${query}`, headers: { authorization: `Bearer ${JWT}`, 'x-test-truth': '1' } });
  return res.json() as NotificationsResponse;
}

/** A client whose socket is the scripted notifier and whose notifications endpoint is the real auth-token. */
function setup(t: Test, options: Partial<NotificationClientOptions> = {}) {
  const clock = createClock();
  const client = new NotificationClient({
    getJwt: () => JWT,
    tokenUrl: `${scripted.baseUrl}/api/user/ws-token/`,
    socketUrl: `${scripted.baseUrl.replace('http', 'ws')}/ws/notifications/`,
    notificationsUrl: `${authTokenUrl}/api/notifications/`,
    types: ['reservation'],
    WebSocket: WebSocket as never,
    timers: clockTimers(clock),
    random: () => 0.999,
    window: null,
    document: null,
    ...options,
  });
  t.teardown(() => client.close());
  const events: Array<{ event: keyof ClientEvents; value: unknown }> = [];
  for (const event of ['notification', 'resume_gap', 'history_gap', 'error'] as const) {
    client.on(event, (value) => events.push({ event, value }));
  }
  /** Resolves once `check` holds of the events so far, re-checked as each arrives. */
  const until = (check: () => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
      const offs = (['notification', 'resume_gap', 'history_gap', 'error'] as const).map((event) =>
        client.on(event, () => {
          // Listeners run in order: ours above has recorded the event already.
          if (!check()) return;
          clearTimeout(timer);
          for (const off of offs) off();
          resolve();
        }),
      );
    });
  const connection = async (index: number): Promise<ScriptedConnection> => scripted.until(() => scripted.connections[index]?.frames[0] && scripted.connections[index], 5000, `connection ${index + 1}`);
  /** Drops the socket; resolves with the next one once its subscribe has arrived. */
  const reconnect = async (conn: ScriptedConnection): Promise<ScriptedConnection> => {
    const index = scripted.connections.length;
    conn.socket.close(1012);
    await new Promise<void>((resolve) => {
      const off = client.on('status', (status) => {
        if (status !== 'reconnecting') return;
        off();
        resolve();
      });
    });
    await clock.tickAsync(500);
    return connection(index);
  };
  const notified = () => events.filter((e) => e.event === 'notification').map((e) => e.value as NotificationFrame);
  return { client, events, until, connection, reconnect, notified };
}

/** Resolves once the client is (or becomes) open. */
function opened(client: NotificationClient): Promise<void> {
  if (client.status === 'open') return Promise.resolve();
  return new Promise((resolve) => {
    const off = client.on('status', (status) => {
      if (status !== 'open') return;
      off();
      resolve();
    });
  });
}

/**
 * A client open on the scripted notifier after `seen` was published: its first
 * socket answered with history's positions (`start`) as they stand now.
 */
async function openAfter(t: Test, seen: string, options: Partial<NotificationClientOptions> = {}) {
  await publish(seen);
  const start = await history();
  const harness = setup(t, options);
  harness.client.connect();
  const first = await harness.connection(0);
  answerWithPositions(first, start.positions);
  await opened(harness.client);
  return { ...harness, start, first };
}

const send = (conn: ScriptedConnection, frame: NotificationFrame) => conn.socket.send(JSON.stringify(frame));
const only = (positions: StreamPositions, ...streams: Array<keyof StreamPositions>): StreamPositions =>
  Object.fromEntries(streams.map((s) => [s, positions[s]]));

t.test('after resume_gap the client fetches the gapped stream from auth-token with its JWT and delivers what the socket did not, once each', async (t) => {
  const { client, events, until, reconnect, notified, start, first } = await openAfter(t, 'seen');

  for (const m of ['m1', 'm2', 'm3', 'm4', 'm5']) await publish(m);
  const truth = (await history(new URLSearchParams({ types: 'reservation', after: `user:reservation:${start.positions['user:reservation']!.id}:${start.positions['user:reservation']!.epoch}` }).toString())).notifications;
  t.same(
    truth.map((n) => n.message),
    ['m1', 'm2', 'm3', 'm4', 'm5'],
  );
  const [m1, m2, , , m5] = truth as [NotificationFrame, NotificationFrame, NotificationFrame, NotificationFrame, NotificationFrame];
  send(first, m1);
  await until(() => notified().length === 1, 'm1 live');

  const second = await reconnect(first);
  t.same(second.frames[0]?.positions, { ...start.positions, 'user:reservation': { id: m1.id, epoch: m1.epoch } }, 'the resume starts after m1');
  answerWithPositions(second, only(start.positions, 'all:reservation'));
  // The notifier could not replay all of it: it says so, then sends what it has (m2 here).
  sendResumeGap(second, { streams: ['user:reservation'] });
  send(second, m2);
  await until(() => notified().length === 5, 'm3 to m5 from history');

  t.equal(requests.length, 1, 'one request: one page held it all');
  t.equal(requests[0]!.path, '/api/notifications/');
  t.equal(requests[0]!.authorization, `Bearer ${JWT}`, "the user's JWT, as for the token");
  t.same(requests[0]!.query.getAll('after'), [`user:reservation:${m1.id}:${m1.epoch}`], 'after where the resume started, in the gapped stream only');
  t.equal(requests[0]!.query.get('types'), 'reservation');
  t.same(notified(), truth, 'm1 to m5, each once, exactly the frames the endpoint serves');
  t.same(client.notifications, truth, 'in the buffer in id order');
  t.same(client.positions['user:reservation'], { id: m5.id, epoch: m5.epoch }, 'the position moved to the last one fetched');
  t.same(
    events.map((e) => e.event),
    ['notification', 'resume_gap', 'notification', 'notification', 'notification', 'notification'],
    'history reached back: no history_gap',
  );

  send(second, m5); // a replay that arrives after the catch-up delivered it
  const third = await reconnect(second);
  t.equal(notified().length, 5, 'delivered once, though it came twice');
  t.same((third.frames[0]!.positions as StreamPositions)['user:reservation'], { id: m5.id, epoch: m5.epoch }, 'the next resume goes on after m5');
});

t.test('a resume_gap in the middle of the replay: the catch-up starts after the last notification replayed', async (t) => {
  const { client, events, until, reconnect, notified, start, first } = await openAfter(t, 'seen');
  for (const m of ['m1', 'm2', 'm3', 'm4', 'm5']) await publish(m);
  const truth = (await history(`types=reservation&after=user:reservation:${start.positions['user:reservation']!.id}:${start.positions['user:reservation']!.epoch}`)).notifications;
  const [m1, m2, , , m5] = truth as [NotificationFrame, NotificationFrame, NotificationFrame, NotificationFrame, NotificationFrame];

  const second = await reconnect(first);
  answerWithPositions(second, only(start.positions, 'all:reservation'));
  // The replay stops after m2 (say it reached its bound), the stream goes live with m5.
  send(second, m1);
  send(second, m2);
  sendResumeGap(second, { streams: ['user:reservation'] });
  send(second, m5);
  await until(() => notified().length === 5, 'm3 and m4 from history');
  t.same(requests[0]!.query.getAll('after'), [`user:reservation:${m2.id}:${m2.epoch}`], 'after the last one replayed, not where the resume started');
  t.same(
    notified().map((n) => n.message).sort(),
    ['m1', 'm2', 'm3', 'm4', 'm5'],
    'each once',
  );
  t.same(client.notifications, truth, 'in id order in the buffer');
  t.notOk(events.some((e) => e.event === 'history_gap'), 'history filled the hole');
});

t.test('when history does not reach back either (the stream began again), the client delivers what is left and emits history_gap', async (t) => {
  const { client, events, until, reconnect, notified, start, first } = await openAfter(t, 'old');

  // Redis lost the stream; it began again with two notifications.
  const channel = userChannel(String(USER), 'reservation');
  await redis.del(historyKey(channel), epochKey(channel));
  await publish('new 1');
  await publish('new 2');
  const second = await reconnect(first);
  answerWithPositions(second, only(start.positions, 'all:reservation'));
  sendResumeGap(second, { streams: ['user:reservation'] });
  await until(() => events.some((e) => e.event === 'history_gap'), 'history_gap');

  t.same(
    notified().map((n) => n.message),
    ['new 1', 'new 2'],
  );
  t.same(events.find((e) => e.event === 'history_gap')?.value, { streams: ['user:reservation'] }, 'refetching state is still advised for that stream');
  t.same(
    events.map((e) => e.event),
    ['resume_gap', 'notification', 'notification', 'history_gap'],
  );
  const newEpoch = notified()[0]!.epoch;
  t.not(newEpoch, start.positions['user:reservation']!.epoch);
  t.same(client.positions['user:reservation'], { id: notified()[1]!.id, epoch: newEpoch }, 'the position is in the new epoch');
});

t.test('fetchMissed() before connect(): the most recent notifications, and the first subscribe goes on from there', async (t) => {
  await publish('a');
  await publish('b');
  const { client, connection } = setup(t);
  const caught = await client.fetchMissed();
  t.same(
    caught.notifications.map((n) => n.message),
    ['a', 'b'],
  );
  t.same(caught.gap, []);
  t.same(requests[0]!.query.getAll('after'), [], 'no positions yet: the most recent');
  t.same(
    client.notifications.map((n) => n.message),
    ['a', 'b'],
  );
  client.connect();
  const first = await connection(0);
  const resumed = first.frames[0]!.positions as StreamPositions;
  const b = caught.notifications[1]!;
  t.same(resumed['user:reservation'], { id: b.id, epoch: b.epoch }, 'the first subscribe resumes each stream from where the answer left it: nothing falls between');
  t.equal(resumed['all:reservation']?.epoch, '', 'a stream that does not exist yet too, from where it would begin');

  await publish('c');
  const again = await client.fetchMissed();
  t.same(
    again.notifications.map((n) => n.message),
    ['c'],
    'asked again, only what is new',
  );
  t.same(requests[1]!.query.getAll('after').length, 2, 'after the held positions, one per stream');
});

t.test('the endpoint refuses: an error event, and history_gap for the gapped streams', async (t) => {
  const { client, events, until, reconnect, first } = await openAfter(t, 'seen', { notificationsUrl: `${scripted.baseUrl}/api/notifications/` }); // answers 404
  const second = await reconnect(first);
  answerWithPositions(second, {});
  sendResumeGap(second, { streams: ['user:reservation'] });
  await until(() => events.some((e) => e.event === 'history_gap'), 'history_gap');
  t.same(
    events.map((e) => e.event),
    ['resume_gap', 'error', 'history_gap'],
  );
  const error = events.find((e) => e.event === 'error')?.value as { code: string; fatal: boolean };
  t.equal(error.code, 'notifications_unavailable');
  t.equal(error.fatal, false, 'the socket stays: live notifications still come');
  t.equal(client.status, 'open');
});

t.test('catchUpOnGap false: resume_gap alone, nothing fetched', async (t) => {
  const { events, reconnect, first } = await openAfter(t, 'seen', { catchUpOnGap: false });
  const second = await reconnect(first);
  answerWithPositions(second, {});
  sendResumeGap(second, { streams: ['user:reservation'] });
  const third = await reconnect(second); // every frame of the second socket was read before its close
  t.ok(third);
  t.same(
    events.map((e) => e.event),
    ['resume_gap'],
  );
  t.equal(requests.length, 0);
});
