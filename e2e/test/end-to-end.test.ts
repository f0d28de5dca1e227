import { createNotificationProducer } from '@parking-realtime/producer';
import {
  type ServiceProcess,
  serviceJwt,
  simpleJwtAccessToken,
  startRedis,
  startService,
  TestSocket,
} from '@parking-realtime/testing';
import t from 'tap';
import { postEventTo } from './support/post-event.js';

const JWT_SECRET = 'e2e-jwt-secret-that-is-long-enough-01234';
const SERVICE_JWT_SECRET = 'e2e-service-secret-long-enough-0123456789';

const redis = await startRedis();
// Every test client fetches its tokens from 127.0.0.1: one address, far past the per-address limit.
const env = { REDIS_URL: redis.url, JWT_SECRET, SERVICE_JWT_SECRET, TOKEN_RATE_LIMIT_PER_IP: '100000' };
const [auth, notifierA, notifierB, ingest] = await Promise.all([
  startService('auth-token', env),
  startService('notifier', env),
  startService('notifier', env),
  startService('event-ingest', env),
]);
const services: ServiceProcess[] = [auth!, notifierA!, notifierB!, ingest!];
const producer = createNotificationProducer({ connection: redis.url });
const sockets: TestSocket[] = [];
const secretsSeen: string[] = [];

t.teardown(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await producer.close();
  await Promise.all(services.map((s) => s.kill('SIGTERM')));
  await redis.stop();
});

async function wsToken(userId: number): Promise<string> {
  const jwt = simpleJwtAccessToken(JWT_SECRET, userId);
  secretsSeen.push(jwt);
  const res = await fetch(`${auth!.url}/api/user/ws-token/`, { headers: { authorization: `Bearer ${jwt}` } });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
  const { ws_token } = (await res.json()) as { ws_token: string };
  secretsSeen.push(ws_token);
  return ws_token;
}

async function client(userId: number, notifier: ServiceProcess): Promise<TestSocket> {
  const token = await wsToken(userId);
  const socket = await TestSocket.connect(`${notifier.url.replace('http', 'ws')}/ws/notifications/?token=${token}`);
  sockets.push(socket);
  await socket.subscribe(['reservation', 'parking_lot']);
  return socket;
}

const serviceAuth = `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`;
secretsSeen.push(serviceAuth.slice(7));

function postEvent(event: Record<string, unknown>): Promise<string> {
  return postEventTo(ingest!.url, serviceAuth, event);
}

const withTag = (tag: string) => (f: { type: string; data?: unknown }) =>
  f.type === 'notification' && (f.data as { tag?: string }).tag === tag;

const user1 = await client(1, notifierA!);
const user2 = await client(2, notifierA!);
const user3 = await client(3, notifierB!);

t.test('a broadcast parking_lot event through POST /api/events/ reaches clients on both notifiers', async (t) => {
  await postEvent({ type: 'parking_lot', message: 'Lot A: 12 free', data: { lot_id: 1, free: 12, tag: 'lot-a' } });
  for (const socket of [user1, user2, user3]) {
    const got = await socket.next(withTag('lot-a'));
    t.equal(got.notification_type, 'parking_lot');
    t.equal(got.message, 'Lot A: 12 free');
    t.match(got.id, /^\d+-\d+$/);
    t.match(got.created_at, /^\d{4}-\d\d-\d\dT/);
  }
});

t.test('a targeted reservation for user 1 reaches user 1 only', async (t) => {
  await postEvent({
    type: 'reservation',
    message: 'New reservation created',
    data: { reservation_id: 123, status: 'active', tag: 'res-1' },
    user_ids: [1],
  });
  const got = await user1.next(withTag('res-1'));
  t.same(got.data, { reservation_id: 123, status: 'active', tag: 'res-1' });
  // Published after the targeted one, so any socket that could see it would see it first.
  await postEvent({ type: 'reservation', message: 'marker', data: { tag: 'marker-1' } });
  await user2.next(withTag('marker-1'));
  await user3.next(withTag('marker-1'));
  t.notOk(user2.received.some(withTag('res-1')), 'user 2, on the same notifier and type, never sees it');
  t.notOk(user3.received.some(withTag('res-1')), 'user 3 never sees it');
});

t.test('the same event id sent twice is delivered once', async (t) => {
  const event = { id: 'reservation-77-created', type: 'reservation', message: 'dup', data: { tag: 'dup' }, user_ids: [1] };
  t.equal(await postEvent(event), 'reservation-77-created');
  t.equal(await postEvent(event), 'reservation-77-created');
  await user1.next(withTag('dup'));
  await postEvent({ type: 'reservation', message: 'marker', data: { tag: 'marker-2' }, user_ids: [1] });
  await user1.next(withTag('marker-2'));
  t.equal(user1.received.filter(withTag('dup')).length, 1);
});

t.test('an event enqueued with the shared producer is delivered the same way', async (t) => {
  const { id } = await producer.send({ type: 'reservation', message: 'from producer', data: { tag: 'prod' }, user_ids: [3] });
  t.type(id, 'string');
  const got = await user3.next(withTag('prod'));
  t.equal(got.message, 'from producer');
  await postEvent({ type: 'reservation', message: 'marker', data: { tag: 'marker-3' } });
  await user1.next(withTag('marker-3'));
  t.notOk(user1.received.some(withTag('prod')), 'user 1 never sees user 3\'s');
});

t.test('no service logged a JWT, a ws token or an Authorization header', async (t) => {
  for (const service of services) {
    const output = service.output();
    t.ok(output.length > 0, `${service.name} logged something`);
    for (const secret of secretsSeen) t.notOk(output.includes(secret), `${service.name} did not log a secret`);
    t.notOk(/"authorization":"Bearer/i.test(output), `${service.name} did not log an Authorization header`);
  }
});
