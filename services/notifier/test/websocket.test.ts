import { type NotificationType, notificationBody, notificationFrameText, type StreamName } from '@parking-realtime/protocol';
import { broadcastChannel, hashToken, TokenStore, userChannel, wsTokenKey } from '@parking-realtime/redis';
import { metricValue, TestSocket, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { startNotifierApp } from './support/notifier-app.js';

const notifier = await startNotifierApp();
const { redis, publisher, app, tokens, sockets, wsUrl, connect } = notifier;
t.teardown(() => notifier.close());

let seq = 0;
/** A frame on `stream`, as event-ingest publishes it. */
function frame(stream: StreamName, data: Record<string, unknown> = {}) {
  seq += 1;
  const type = stream.slice(stream.indexOf(':') + 1) as NotificationType;
  const body = notificationBody({ type, message: `m${seq}`, data: { seq, ...data }, created_at: new Date().toISOString() });
  return notificationFrameText(`${Date.now()}-${seq}`, stream, '1-0', body);
}

t.test('403 before the upgrade for a missing token', async (t) => {
  const refused = await TestSocket.refused(wsUrl());
  t.equal(refused.status, 403);
  t.equal(JSON.parse(refused.body).code, 'ws_token_missing');
});

t.test('403 before the upgrade for an unknown token', async (t) => {
  const refused = await TestSocket.refused(wsUrl('A'.repeat(43)));
  t.equal(refused.status, 403);
  t.equal(JSON.parse(refused.body).code, 'ws_token_invalid');
});

t.test('403 before the upgrade for an expired token', async (t) => {
  const { token } = await new TokenStore(redis, 1).issue('5');
  const key = wsTokenKey(hashToken(token));
  await waitFor(async () => (await redis.exists(key)) === 0, 5000, 'the token to expire');
  const refused = await TestSocket.refused(wsUrl(token));
  t.equal(refused.status, 403);
  t.equal(JSON.parse(refused.body).code, 'ws_token_invalid');
});

t.test('a used token is refused with 403 before the upgrade', async (t) => {
  const { token } = await tokens.issue('6');
  const first = await TestSocket.connect(wsUrl(token));
  sockets.push(first);
  const refused = await TestSocket.refused(wsUrl(token));
  t.equal(refused.status, 403);
  t.equal(JSON.parse(refused.body).code, 'ws_token_invalid');
  t.equal(first.ws.readyState, first.ws.OPEN, 'the first socket is unaffected');
});

t.test('two upgrades racing with one token: exactly one succeeds', async (t) => {
  const { token } = await tokens.issue('8');
  const results = await Promise.allSettled([TestSocket.connect(wsUrl(token)), TestSocket.connect(wsUrl(token))]);
  const opened = results.filter((r) => r.status === 'fulfilled');
  t.equal(opened.length, 1);
  for (const r of opened) sockets.push((r as PromiseFulfilledResult<TestSocket>).value);
});

t.test('ping gets pong', async (t) => {
  const s = await connect('9');
  s.send({ type: 'ping' });
  t.same(await s.nextOfType('pong'), { type: 'pong' });
});

t.test('subscribe, then receive only subscribed types, targeted only to the addressed user', async (t) => {
  const alice = await connect('1');
  const bob = await connect('2');
  const subscribed = await alice.subscribe(['reservation']);
  t.same(subscribed.notification_types, ['reservation']);
  t.same(Object.keys(subscribed.positions as object).sort(), ['all:reservation', 'user:reservation'], 'with where each of its streams stands');
  await bob.subscribe(['reservation', 'parking_lot']);

  const forAlice = frame('user:reservation', { to: 'alice' });
  await publisher.publish(userChannel('1', 'reservation'), forAlice);
  const lot = frame('all:parking_lot');
  await publisher.publish(broadcastChannel('parking_lot'), lot);
  const broadcastRes = frame('all:reservation', { to: 'all' });
  await publisher.publish(broadcastChannel('reservation'), broadcastRes);

  t.same(await alice.nextOfType('notification'), JSON.parse(forAlice), 'alice gets hers first, byte for byte');
  t.same(await alice.nextOfType('notification'), JSON.parse(broadcastRes), 'then the reservation broadcast');
  t.same(await bob.nextOfType('notification'), JSON.parse(lot), 'bob gets the lot broadcast');
  t.same(await bob.nextOfType('notification'), JSON.parse(broadcastRes));
  t.equal(alice.notifications().length, 2, 'alice never saw the parking_lot broadcast');
  t.notOk(bob.notifications().some((n) => (n.data as { to?: string }).to === 'alice'), 'bob never saw alice\'s');
});

t.test('unsubscribe stops delivery of that type and drops the Redis subscription nobody needs', async (t) => {
  const carol = await connect('3');
  await carol.subscribe(['reservation', 'parking_lot']);
  carol.send({ type: 'unsubscribe', notification_types: ['parking_lot'] });
  t.same(await carol.nextOfType('unsubscribed'), { type: 'unsubscribed', notification_types: ['parking_lot'] });
  const stillSubscribed = await publisher.pubsub('CHANNELS', 'pr:{u:3}:*');
  t.same(stillSubscribed, [userChannel('3', 'reservation')], 'only carol\'s reservation channel remains');

  await publisher.publish(userChannel('3', 'parking_lot'), frame('user:parking_lot'));
  const marker = frame('user:reservation', { marker: true });
  await publisher.publish(userChannel('3', 'reservation'), marker);
  t.same(await carol.nextOfType('notification'), JSON.parse(marker));
  t.equal(carol.notifications().length, 1, 'the parking_lot one never arrived');
});

t.test('closing the last socket of a user drops its channels', async (t) => {
  const dave = await connect('4');
  await dave.subscribe(['reservation']);
  t.same(await publisher.pubsub('NUMSUB', userChannel('4', 'reservation')), [userChannel('4', 'reservation'), 1]);
  await dave.close();
  const channel = userChannel('4', 'reservation');
  await waitFor(async () => ((await publisher.pubsub('NUMSUB', channel)) as [string, number])[1] === 0, 5000, 'unsubscribe');
  t.same(await publisher.pubsub('CHANNELS', 'pr:{u:4}:*'), []);
});

const badFrames: Array<[string, string | Buffer, string]> = [
  ['malformed JSON', '{"type":', 'malformed_json'],
  ['a JSON array', '[1,2]', 'invalid_frame'],
  ['an unknown message type', JSON.stringify({ type: 'shout' }), 'unknown_message_type'],
  ['a missing type', JSON.stringify({ notification_types: ['reservation'] }), 'unknown_message_type'],
  ['an unknown notification type', JSON.stringify({ type: 'subscribe', notification_types: ['payments'] }), 'unknown_notification_type'],
  ['notification_types not an array', JSON.stringify({ type: 'subscribe', notification_types: 'reservation' }), 'invalid_frame'],
  ['an empty notification_types', JSON.stringify({ type: 'subscribe', notification_types: [] }), 'invalid_frame'],
  ['an extra field', JSON.stringify({ type: 'ping', admin: true }), 'invalid_frame'],
  ['a frame too large', JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }), 'frame_too_large'],
  ['a binary frame', Buffer.from([1, 2, 3]), 'binary_frame'],
];

t.test('bad frames get an error frame and the connection keeps working', async (t) => {
  const erin = await connect('10');
  for (const [what, data, code] of badFrames) {
    erin.ws.send(data);
    const err = await erin.nextOfType('error');
    t.equal(err.code, code, what);
    t.type(err.message, 'string');
  }
  t.match(await erin.subscribe(['parking_lot']), { type: 'subscribed', notification_types: ['parking_lot'] });
  const lot = frame('all:parking_lot');
  await publisher.publish(broadcastChannel('parking_lot'), lot);
  t.same(await erin.nextOfType('notification'), JSON.parse(lot), 'still receives after every error');
  t.equal(erin.ws.readyState, erin.ws.OPEN);
});

t.test('a plain HTTP GET on the socket path is refused without consuming the token', async (t) => {
  const { token } = await tokens.issue('11');
  const res = await app.inject({ method: 'GET', url: `/ws/notifications/?token=${token}` });
  t.ok(res.statusCode >= 400 && res.statusCode < 500, `status ${res.statusCode}`);
  const s = await TestSocket.connect(wsUrl(token));
  sockets.push(s);
  t.pass('the token still works for a real upgrade');
});

const metric = async (name: string, labels = '') => {
  const text = (await app.inject({ url: '/metrics' })).body;
  return metricValue(text, name, labels);
};

t.test('/metrics: one delivered notification moves the counter by exactly one, with its latency', async (t) => {
  const frank = await connect('12');
  await frank.subscribe(['reservation']);
  const openSockets = await metric('ws_connections_open');
  t.ok(openSockets >= 1, 'open sockets are counted');
  const delivered = await metric('notifications_delivered_total', 'type="reservation"');
  const observed = await metric('notification_delivery_latency_seconds_count', 'type="reservation"');
  const one = frame('user:reservation');
  await publisher.publish(userChannel('12', 'reservation'), one);
  await frank.nextOfType('notification');
  t.equal((await metric('notifications_delivered_total', 'type="reservation"')) - delivered, 1);
  t.equal((await metric('notification_delivery_latency_seconds_count', 'type="reservation"')) - observed, 1);
  await frank.close();
  await waitFor(async () => (await metric('ws_connections_open')) === openSockets - 1, 5000, 'the gauge to drop');
});

t.test('refused upgrades are counted by reason', async (t) => {
  const before = await metric('auth_failures_total', 'reason="ws_token_invalid"');
  await TestSocket.refused(wsUrl('B'.repeat(43)));
  t.equal((await metric('auth_failures_total', 'reason="ws_token_invalid"')) - before, 1);
});

t.test('readyz covers Redis and the subscriber connection', async (t) => {
  const res = await app.inject({ url: '/readyz' });
  t.equal(res.statusCode, 200);
  t.same(res.json().checks, { redis: true, subscriber: true });
});
