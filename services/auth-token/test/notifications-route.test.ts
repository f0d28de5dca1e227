import {
  type AcceptedEvent,
  compareNotificationIds,
  type NotificationFrame,
  NotificationsResponse,
  notificationBody,
  type NotificationType,
  type StreamName,
  type StreamPositions,
} from '@parking-realtime/protocol';
import { broadcastChannel, createRedis, disconnectUser, epochKey, historyKey, userChannel } from '@parking-realtime/redis';
import { simpleJwtAccessToken, startRedis } from '@parking-realtime/testing';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { Compile } from 'typebox/compile';
// The real publisher, so the history read here is exactly what event-ingest writes (test-only, by path).
import { NotificationPublisher } from '../../event-ingest/src/notification-publisher.js';
import { buildAuthTokenApp } from '../src/app.js';
import { loadAuthTokenConfig } from '../src/config.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const publisherRedis = redis.duplicate();
const subscriber = redis.duplicate();
const connections = [redis, publisherRedis, subscriber];
const apps: FastifyInstance[] = [];
t.teardown(async () => {
  await Promise.all(apps.map((a) => a.close()));
  for (const c of connections) c.disconnect();
  await redisServer.stop();
});

async function authToken(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const connection = redis.duplicate();
  connections.push(connection);
  const app = await buildAuthTokenApp(loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: redisServer.url, LOG_LEVEL: 'silent', ...env }), { redis: connection });
  apps.push(app);
  return app;
}

const app = await authToken();
const publisher = new NotificationPublisher(publisherRedis, { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 86_400 });
const validResponse = Compile(NotificationsResponse);

// Every frame the publisher sends on a channel, by channel: what a notifier forwards to the sockets, as is.
const published = new Map<string, NotificationFrame[]>();
await subscriber.psubscribe('pr:*');
subscriber.on('pmessage', (_pattern: string, channel: string, text: string) => {
  published.set(channel, [...(published.get(channel) ?? []), JSON.parse(text) as NotificationFrame]);
});

t.beforeEach(async () => {
  await redis.flushall();
  published.clear();
});

let eventSeq = 0;
/** Publishes one event through the real publisher; resolves once it is in history (and was published). */
async function publish(type: NotificationType, userIds?: Array<number | string>, message = `event ${eventSeq + 1}`): Promise<AcceptedEvent> {
  eventSeq += 1;
  const event: AcceptedEvent = {
    id: `e${eventSeq}`,
    type,
    message,
    data: { seq: eventSeq },
    created_at: new Date().toISOString(),
    ...(userIds ? { user_ids: userIds } : {}),
  };
  if (!(await publisher.publish(event))) throw new Error(`${event.id} was not published`);
  // Redis answers the subscriber's PING after the messages it queued for it before: they have all arrived.
  await subscriber.ping();
  return event;
}

/** The frames published on a user's channel of `type` and on the type's broadcast channel, as the user's socket got them. */
function framesOn(channels: string[]): NotificationFrame[] {
  return channels.flatMap((c) => published.get(c) ?? []);
}

function get(query: string, userId: number | string = 42, target: FastifyInstance = app, headers: Record<string, string> = {}) {
  return target.inject({
    method: 'GET',
    url: `/api/notifications/${query ? `?${query}` : ''}`,
    headers: { authorization: `Bearer ${simpleJwtAccessToken(SECRET, userId)}`, ...headers },
  });
}

async function answer(query: string, userId: number | string = 42, target: FastifyInstance = app): Promise<NotificationsResponse> {
  const res = await get(query, userId, target);
  if (res.statusCode !== 200) throw new Error(`GET /api/notifications/?${query}: ${res.statusCode} ${res.body}`);
  const body = res.json() as NotificationsResponse;
  if (!validResponse.Check(body)) throw new Error(`not a NotificationsResponse: ${res.body}`);
  return body;
}

/** `after` parameters for positions, as a browser builds them. */
function afterQuery(positions: StreamPositions, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  for (const [stream, at] of Object.entries(positions)) params.append('after', `${stream}:${at!.id}:${at!.epoch}`);
  return params.toString();
}

/**
 * The answer's order: by id, and streams with the same id (published in the
 * same millisecond: ids order one stream exactly, others only by time) by name.
 */
const byId = (a: NotificationFrame, b: NotificationFrame) => compareNotificationIds(a.id, b.id) || (a.stream < b.stream ? -1 : 1);

/** The messages of each stream, in the order given. */
function perStream(notifications: readonly NotificationFrame[]): Record<string, string[]> {
  const streams: Record<string, string[]> = {};
  for (const n of notifications) streams[n.stream] = [...(streams[n.stream] ?? []), n.message];
  return streams;
}

t.test("without after: the user's own notifications and the broadcasts, oldest first, the very frames the sockets got", async (t) => {
  await publish('reservation', [42], 'mine');
  await publish('parking_lot', undefined, 'lot broadcast');
  await publish('reservation', [43], "someone else's");
  await publish('reservation', [42, 43], 'ours');
  await publish('reservation', undefined, 'reservation broadcast');

  const res = await get('');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  const body = res.json() as NotificationsResponse;
  t.ok(validResponse.Check(body), 'a NotificationsResponse');
  t.same(perStream(body.notifications), {
    'user:reservation': ['mine', 'ours'],
    'all:parking_lot': ['lot broadcast'],
    'all:reservation': ['reservation broadcast'],
  });
  const sent = framesOn([userChannel('42', 'reservation'), userChannel('42', 'parking_lot'), broadcastChannel('reservation'), broadcastChannel('parking_lot')]).sort(byId);
  t.same(body.notifications, sent, 'each notification is exactly the frame published to the sockets, in id order');
  t.same(body.gap, []);
  t.equal(body.more, false);
  t.same(Object.keys(body.positions).sort(), ['all:parking_lot', 'all:reservation', 'user:parking_lot', 'user:reservation']);
  const last = (stream: StreamName) => body.notifications.filter((n) => n.stream === stream).at(-1)!;
  t.same(body.positions['user:reservation'], { id: last('user:reservation').id, epoch: last('user:reservation').epoch }, 'each stream stands at its newest');
  t.same(body.positions['all:parking_lot'], { id: last('all:parking_lot').id, epoch: last('all:parking_lot').epoch });
  t.equal(body.positions['user:parking_lot']!.epoch, '', 'a stream that does not exist has an empty epoch');

  const theirs = await answer('', 43);
  t.same(
    perStream(theirs.notifications),
    { 'user:reservation': ["someone else's", 'ours'], 'all:parking_lot': ['lot broadcast'], 'all:reservation': ['reservation broadcast'] },
    "user 43 gets their own and the broadcasts, never 42's",
  );
  const nobody = await answer('', 44);
  t.same(
    perStream(nobody.notifications),
    { 'all:parking_lot': ['lot broadcast'], 'all:reservation': ['reservation broadcast'] },
    'a user with nothing addressed to them gets only the broadcasts',
  );
});

t.test('types narrows the streams read', async (t) => {
  await publish('reservation', [42], 'a reservation');
  await publish('parking_lot', undefined, 'a lot');
  await publish('parking_lot', [42], 'my lot');
  const body = await answer('types=parking_lot');
  t.same(
    body.notifications.map((n) => n.message),
    ['a lot', 'my lot'],
  );
  t.same(Object.keys(body.positions).sort(), ['all:parking_lot', 'user:parking_lot']);
  const both = await answer('types=parking_lot,reservation');
  t.equal(both.notifications.length, 3);
});

t.test('without after, limit keeps the most recent, oldest first', async (t) => {
  for (let i = 1; i <= 7; i++) await publish('reservation', [50], `r${i}`);
  await publish('parking_lot', undefined, 'lot');
  const body = await answer('limit=3', 50);
  t.same(perStream(body.notifications), { 'user:reservation': ['r6', 'r7'], 'all:parking_lot': ['lot'] });
  t.equal(body.more, false, 'nothing to ask for next: the positions are where the streams stand');
  t.same(body.positions['user:reservation']!.id, (await redis.xrevrange(historyKey(userChannel('50', 'reservation')), '+', '-', 'COUNT', 1))[0]![0]);
  t.equal((await answer('', 50)).notifications.length, 8, 'the default limit (50) holds them all');
});

t.test('after: exactly what came after each position, in order, page by page, no duplicate, nothing skipped', async (t) => {
  await publish('reservation', [60], 'before 1');
  await publish('parking_lot', undefined, 'before 2');
  const start = await answer('', 60);
  t.equal(start.notifications.length, 2);

  const expected: string[] = [];
  for (let i = 1; i <= 8; i++) {
    const broadcast = i % 3 === 0;
    expected.push((await publish(broadcast ? 'parking_lot' : 'reservation', broadcast ? undefined : [60], `after ${i}`)).message);
  }
  await publish('reservation', [61], 'not for 60');

  const got: NotificationFrame[] = [];
  const mores: boolean[] = [];
  let positions = start.positions;
  for (let page = 0; page < 10; page++) {
    const body = await answer(afterQuery(positions, { limit: '3' }), 60);
    t.ok(body.notifications.length <= 3, 'never more than limit');
    t.same(body.gap, []);
    got.push(...body.notifications);
    mores.push(body.more);
    positions = body.positions;
    if (!body.more) break;
  }
  t.same(mores, [true, true, false], 'more until the last page');
  t.same(
    got.map((n) => n.message).sort(),
    [...expected].sort(),
    'every notification after the positions once',
  );
  t.same(perStream(got), perStream(framesOn([userChannel('60', 'reservation'), broadcastChannel('parking_lot')]).filter((n) => expected.includes(n.message))), 'each stream in order');
  t.same(got, [...got].sort(byId), 'ordered by id across the streams');
  const sent = framesOn([userChannel('60', 'reservation'), broadcastChannel('parking_lot')]).filter((n) => expected.includes(n.message)).sort(byId);
  t.same(got, sent, 'the same frames the sockets got');

  const after = await answer(afterQuery(positions), 60);
  t.same(after.notifications, [], 'asked again from the final positions: nothing new');
  for (const stream of ['user:reservation', 'all:parking_lot'] as const) t.same(after.positions[stream], positions[stream], `the position in ${stream} stays`);
  const next = await publish('reservation', [60], 'later');
  const later = await answer(afterQuery(positions), 60);
  t.same(
    later.notifications.map((n) => n.message),
    [next.message],
  );
});

t.test('after names some streams: the others are not read, only where they stand', async (t) => {
  await publish('reservation', [62], 'r1');
  const start = await answer('', 62);
  await publish('reservation', [62], 'r2');
  await publish('parking_lot', undefined, 'lot');
  const only = { 'user:reservation': start.positions['user:reservation']! };
  const body = await answer(afterQuery(only), 62);
  t.same(
    body.notifications.map((n) => n.message),
    ['r2'],
  );
  t.equal(Object.keys(body.positions).length, 4, 'every stream of the types has a position');
  t.equal(body.positions['all:parking_lot']!.id, (await redis.xrevrange(historyKey(broadcastChannel('parking_lot')), '+', '-', 'COUNT', 1))[0]![0]);
});

t.test('after a position taken before a stream existed (empty epoch): all of the stream, no gap', async (t) => {
  const start = await answer('types=reservation', 63);
  t.equal(start.positions['user:reservation']!.epoch, '');
  await publish('reservation', [63], 'first ever');
  await publish('reservation', [63], 'second');
  const body = await answer(afterQuery(start.positions), 63);
  t.same(
    body.notifications.map((n) => n.message),
    ['first ever', 'second'],
  );
  t.same(body.gap, []);
  t.equal(body.positions['user:reservation']!.epoch, body.notifications[0]!.id, 'the new epoch is its first notification');
});

t.test('entries after the position were trimmed: a gap, then what is left', async (t) => {
  const history = historyKey(userChannel('70', 'reservation'));
  await publish('reservation', [70], 'seen');
  const start = await answer('types=reservation', 70);
  for (let i = 1; i <= 4; i++) await publish('reservation', [70], `missed ${i}`);
  const ids = (await redis.xrange(history, '-', '+')).map(([id]) => id);
  // As the publisher trims (XTRIM MINID): everything before the third one goes, two the client never saw among them.
  await redis.xtrim(history, 'MINID', ids[3]!);
  const body = await answer(afterQuery(start.positions), 70);
  t.same(body.gap, ['user:reservation']);
  t.same(
    body.notifications.map((n) => n.message),
    ['missed 3', 'missed 4'],
  );
  const again = await answer(afterQuery(body.positions), 70);
  t.same(again.gap, [], 'from the new position, no gap');

  // Trimming only what came before the position is no gap.
  const seenAll = await answer('types=reservation', 70);
  await publish('reservation', [70], 'new');
  await redis.xtrim(history, 'MINID', seenAll.positions['user:reservation']!.id);
  const after = await answer(afterQuery(seenAll.positions), 70);
  t.same(after.gap, []);
  t.same(
    after.notifications.map((n) => n.message),
    ['new'],
  );
});

t.test('the stream began again (another epoch), or is gone: a gap, and what the new epoch holds', async (t) => {
  const channel = userChannel('71', 'reservation');
  await publish('reservation', [71], 'old epoch');
  const start = await answer('types=reservation', 71);
  const oldEpoch = start.positions['user:reservation']!.epoch;
  // Redis lost the stream (a failover, a restart without persistence).
  await redis.del(historyKey(channel), epochKey(channel));
  const gone = await answer(afterQuery(start.positions), 71);
  t.same(gone.gap, ['user:reservation'], 'gone although the position had seen it');
  t.same(gone.notifications, []);
  t.equal(gone.positions['user:reservation']!.epoch, '');

  await publish('reservation', [71], 'new 1');
  await publish('reservation', [71], 'new 2');
  const body = await answer(afterQuery(start.positions), 71);
  t.same(body.gap, ['user:reservation']);
  t.same(
    body.notifications.map((n) => n.message),
    ['new 1', 'new 2'],
  );
  t.not(body.positions['user:reservation']!.epoch, oldEpoch);
  t.equal(body.notifications[0]!.epoch, body.positions['user:reservation']!.epoch, 'the frames carry the new epoch');

  // Paged: a gapped stream cut short by the limit stands where the caller got to, in the new epoch.
  const first = await answer(afterQuery(start.positions, { limit: '1' }), 71);
  t.same(
    first.notifications.map((n) => n.message),
    ['new 1'],
  );
  t.equal(first.more, true);
  const second = await answer(afterQuery(first.positions, { limit: '1' }), 71);
  t.same(second.gap, [], 'no gap from a position in the new epoch');
  t.same(
    second.notifications.map((n) => n.message),
    ['new 2'],
  );
});

t.test('HISTORY_MAX_AGE_SECONDS: older entries are never returned, and an older position is a gap', async (t) => {
  const young = await authToken({ HISTORY_MAX_AGE_SECONDS: '60' });
  const history = historyKey(userChannel('72', 'reservation'));
  const twoMinutesAgo = Date.now() - 120_000;
  // An entry from two minutes ago, as the publisher lays entries out (the publisher itself only writes the present).
  const body = notificationBody({ type: 'reservation', message: 'too old', data: {}, created_at: new Date(twoMinutesAgo).toISOString() });
  await redis.xadd(history, `${twoMinutesAgo}-0`, 't', 'reservation', 'b', body);
  await publish('reservation', [72], 'fresh');

  const recent = await answer('types=reservation', 72, young);
  t.same(
    recent.notifications.map((n) => n.message),
    ['fresh'],
  );
  t.same((await answer('types=reservation', 72)).notifications.map((n) => n.message), ['too old', 'fresh'], 'with the default age both are kept');

  const epoch = (await redis.get(epochKey(userChannel('72', 'reservation'))))!;
  const old = await answer(afterQuery({ 'user:reservation': { id: `${twoMinutesAgo - 1000}-0`, epoch } }), 72, young);
  t.same(old.gap, ['user:reservation'], 'the position is older than the window');
  t.same(
    old.notifications.map((n) => n.message),
    ['fresh'],
  );
});

t.test('a query that breaks its form: 400 invalid_request naming the parameter', async (t) => {
  const position = 'user:reservation:1700000000000-0:1699999990000-0';
  const cases: Array<[string, string, RegExp]> = [
    ['types=reservation,nope', '/types', /"nope" is not a notification type/],
    ['types=', '/types', /"" is not a notification type/],
    ['after=user:reservation:1700000000000-0', '/after/0', /must be <stream>:<id>:<epoch>/],
    ['after=user:nope:1700000000000-0:', '/after/0', /must be <stream>:<id>:<epoch>/],
    ['after=user:reservation:abc:', '/after/0', /must be <stream>:<id>:<epoch>/],
    ['after={"user:reservation":{"id":"1-0","epoch":""}}', '/after/0', /must be <stream>:<id>:<epoch>/],
    [`after=${position}&after=${position}`, '/after/1', /a second position for user:reservation/],
    [`types=parking_lot&after=${position}`, '/after/0', /of a type the query does not ask for/],
    ['limit=0', '/limit', /must be >= 1/],
    ['limit=201', '/limit', /must be <= 200/],
    ['limit=ten', '/limit', /must be integer/],
    ['afer=user:reservation:1-0:', '/afer', /is not a parameter of this endpoint/],
    [Array.from({ length: 5 }, () => `after=${position}`).join('&'), '/after', /must NOT have more than 4 items/],
  ];
  for (const [query, path, message] of cases) {
    const res = await get(query);
    t.equal(res.statusCode, 400, query);
    const body = res.json();
    t.equal(body.code, 'invalid_request', query);
    t.equal(body.errors?.[0]?.path, path, `${query}: the error names ${path}`);
    t.match(body.errors?.[0]?.message, message, query);
  }
  const both = (await get('types=nope&after=x')).json();
  t.same(
    both.errors.map((e: { path: string }) => e.path),
    ['/types', '/after/0'],
    'every problem at once',
  );
});

t.test('without a valid user JWT: 401; a user disconnected since the JWT was issued: 401 auth_revoked', async (t) => {
  const none = await app.inject({ method: 'GET', url: '/api/notifications/' });
  t.equal(none.statusCode, 401);
  t.equal(none.json().code, 'auth_missing');
  const refresh = await get('', 42, app, { authorization: `Bearer ${simpleJwtAccessToken(SECRET, 42, { token_type: 'refresh' })}` });
  t.equal(refresh.statusCode, 401);
  t.equal(refresh.json().code, 'auth_wrong_token_type');
  const forged = await get('', 42, app, { authorization: `Bearer ${simpleJwtAccessToken('another-secret-that-is-long-enough-0123', 42)}` });
  t.equal(forged.json().code, 'auth_invalid_signature');

  await publish('reservation', [42], 'mine');
  const jwt = simpleJwtAccessToken(SECRET, 42);
  await disconnectUser(redis, '42', Date.now() + 1000);
  const revoked = await get('', 42, app, { authorization: `Bearer ${jwt}` });
  t.equal(revoked.statusCode, 401);
  t.equal(revoked.json().code, 'auth_revoked');
  t.notMatch(revoked.body, /mine/);
});

t.test('rate-limited like the token endpoint: per user (its own count), then per address', async (t) => {
  const limited = await authToken({ TOKEN_RATE_LIMIT_PER_USER: '3', TOKEN_RATE_LIMIT_PER_IP: '1000' });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await get('', 80, limited)).statusCode);
  t.same(statuses, [200, 200, 200, 429]);
  const refused = await get('', 80, limited);
  t.equal(refused.json().code, 'rate_limited');
  const retryAfter = Number(refused.headers['retry-after']);
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  t.equal((await get('', 81, limited)).statusCode, 200, 'another user is unaffected');
  const token = await limited.inject({ method: 'GET', url: '/api/user/ws-token/', headers: { authorization: `Bearer ${simpleJwtAccessToken(SECRET, 80)}` } });
  t.equal(token.statusCode, 200, 'catching up does not use up the reconnects: the token endpoint counts apart');
  t.ok((await redis.pttl('pr:rate:user:80:notifications')) > 0, 'counted in Redis under pr:rate:user:<id>:notifications');

  await redis.flushall(); // the requests above counted toward this address too
  const byAddress = await authToken({ TOKEN_RATE_LIMIT_PER_IP: '2' });
  const codes: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await byAddress.inject({ method: 'GET', url: '/api/notifications/', headers: { authorization: 'Bearer not-a-jwt' } });
    codes.push(`${res.statusCode} ${res.json().code}`);
  }
  t.same(codes, ['401 auth_malformed', '401 auth_malformed', '429 rate_limited'], 'past the per-address limit, before the JWT is looked at');
});

t.test('Redis unreachable: 503 redis_unavailable', async (t) => {
  const brokenRedis = createRedis('redis://127.0.0.1:1', { name: 'broken', failFast: true });
  connections.push(brokenRedis);
  const broken = await buildAuthTokenApp(loadAuthTokenConfig({ JWT_SECRET: SECRET, REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' }), { redis: brokenRedis });
  apps.push(broken);
  const res = await get('', 42, broken);
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'redis_unavailable');
});
