import { compareNotificationIds } from '@parking-realtime/protocol';
import { createNotificationProducer } from '@parking-realtime/producer';
import { type Frame, type ServiceProcess, simpleJwtAccessToken, startRedis, startService, TestSocket } from '@parking-realtime/testing';
import t from 'tap';

const JWT_SECRET = 'e2e-jwt-secret-that-is-long-enough-01234';
const redis = await startRedis();
// Every test client fetches its tokens from 127.0.0.1: one address, far past the per-address limit.
const env = { REDIS_URL: redis.url, JWT_SECRET, SERVICE_JWT_SECRET: 'e2e-service-secret-long-enough-0123456789', TOKEN_RATE_LIMIT_PER_IP: '100000' };
const [auth, notifier, ingest] = await Promise.all([
  startService('auth-token', env),
  startService('notifier', env),
  // A small memory guard, so the gap test can outrun history without waiting out the 2-minute window.
  startService('event-ingest', { ...env, HISTORY_MAX_ENTRIES: '100' }),
]);
const services: ServiceProcess[] = [auth!, notifier!, ingest!];
const producer = createNotificationProducer({ connection: redis.url });
const sockets: TestSocket[] = [];

t.teardown(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await producer.close();
  await Promise.all(services.map((s) => s.kill('SIGTERM')));
  await redis.stop();
});

async function connect(userId: string, types: string[], lastId?: string): Promise<TestSocket> {
  const res = await fetch(`${auth!.url}/api/user/ws-token/`, {
    headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, userId)}` },
  });
  const { ws_token } = (await res.json()) as { ws_token: string };
  const socket = await TestSocket.connect(`${notifier!.url.replace('http', 'ws')}/ws/notifications/?token=${ws_token}`);
  sockets.push(socket);
  await socket.subscribe(types, lastId === undefined ? {} : { last_id: lastId });
  return socket;
}

const tagged = (tag: string) => (f: Frame) => f.type === 'notification' && (f.data as { tag?: string }).tag === tag;
const tagOf = (f: Frame) => (f.data as { tag: string }).tag;

t.test('resume replays exactly what was missed, in order, then continues live', async (t) => {
  const first = await connect('r1', ['reservation', 'parking_lot']);
  await producer.send({ type: 'reservation', message: 'seen', data: { tag: 'seen' }, user_ids: ['r1'] });
  const seen = await first.next(tagged('seen'));
  await first.close();

  // While offline: two for this user, and two it must not get.
  await producer.send({ type: 'reservation', message: 'missed 1', data: { tag: 'missed-1' }, user_ids: ['r1'] });
  await producer.send({ type: 'reservation', message: 'other user', data: { tag: 'other' }, user_ids: ['r2'] });
  await producer.send({ type: 'parking_lot', message: 'missed 2', data: { tag: 'missed-2' } });
  const last = await producer.send({ type: 'reservation', message: 'marker', data: { tag: 'offline-marker' }, user_ids: ['r2'] });
  const watcher = await connect('r2', ['reservation'], seen.id as string);
  await watcher.next(tagged('offline-marker'));
  t.ok(last.id, 'everything sent while offline was published');

  const back = await connect('r1', ['reservation', 'parking_lot'], seen.id as string);
  const a = await back.nextOfType('notification');
  const b = await back.nextOfType('notification');
  t.same([tagOf(a), tagOf(b)], ['missed-1', 'missed-2'], 'what was missed, in order');
  t.ok(compareNotificationIds(a.id as string, b.id as string) < 0);

  await producer.send({ type: 'parking_lot', message: 'live', data: { tag: 'live' } });
  await back.next(tagged('live'));
  t.same(back.notifications().map(tagOf), ['missed-1', 'missed-2', 'live'], 'no duplicate, nothing else');
  t.notOk(back.received.some((f) => f.type === 'resume_gap'), 'no gap claimed');
});

t.test('resume while events keep arriving: no gap, no duplicate', async (t) => {
  const total = 150;
  const received: Frame[] = [];
  let socket = await connect('r3', ['reservation']);
  let sending = true;
  const sender = (async () => {
    for (let seq = 1; seq <= total; seq++) {
      await producer.send({ type: 'reservation', message: `n${seq}`, data: { tag: 'stream', seq }, user_ids: ['r3'] });
    }
    sending = false;
  })();

  // Drop the connection after some arrive, then resume from the last one seen.
  for (let i = 0; i < 30; i++) received.push(await socket.next(tagged('stream'), 10_000));
  socket.ws.terminate();
  await socket.closedWithin(20_000);
  t.ok(sending, 'events were still being sent when the client came back');
  socket = await connect('r3', ['reservation'], received.at(-1)!.id as string);
  await sender;
  while (received.length < total) received.push(await socket.next(tagged('stream'), 10_000));

  const seqs = received.map((f) => (f.data as { seq: number }).seq);
  t.equal(new Set(seqs).size, total, 'every event exactly once');
  for (let i = 1; i < received.length; i++) {
    t.ok(compareNotificationIds(received[i - 1]!.id as string, received[i]!.id as string) < 0, 'ids increase');
  }
  await producer.send({ type: 'reservation', message: 'end', data: { tag: 'end' }, user_ids: ['r3'] });
  await socket.next(tagged('end'));
  t.equal(socket.notifications().filter(tagged('stream')).length, total - 30, 'nothing extra after the resume');
});

t.test('when history no longer reaches back, resume_gap comes first, then what is left', async (t) => {
  const first = await connect('r4', ['reservation']);
  await producer.send({ type: 'reservation', message: 'seen', data: { tag: 'gap-seen' }, user_ids: ['r4'] });
  const seen = await first.next(tagged('gap-seen'));
  await first.close();
  // Well past the history bound (HISTORY_MAX_ENTRIES=100 here): the oldest are trimmed.
  for (let seq = 1; seq <= 300; seq++) {
    await producer.send({ type: 'reservation', message: `g${seq}`, data: { tag: 'gap', seq }, user_ids: ['r4'] });
  }
  const probe = await connect('r4', ['reservation']);
  await producer.send({ type: 'reservation', message: 'probe', data: { tag: 'gap-probe' }, user_ids: ['r4'] });
  await probe.next(tagged('gap-probe'));
  await probe.close();

  const back = await connect('r4', ['reservation'], seen.id as string);
  const gap = await back.nextOfType('resume_gap');
  t.same(gap, { type: 'resume_gap', streams: ['user:reservation'], last_id: seen.id });
  const last = await back.next(tagged('gap-probe'));
  const replayed = back.notifications();
  t.ok(replayed.length >= 100 && replayed.length < 302, `${replayed.length} replayed: the history that is left`);
  t.equal(replayed.at(-1), last, 'the newest comes last');
  const gapIndex = back.received.indexOf(gap);
  t.ok(back.received.indexOf(replayed[0]!) > gapIndex, 'the gap frame comes before the replay');
});

t.test('a malformed last_id is refused with an error frame', async (t) => {
  const socket = await connect('r5', ['reservation']);
  socket.send({ type: 'subscribe', notification_types: ['reservation'], last_id: 'yesterday' });
  const err = await socket.nextOfType('error');
  t.equal(err.code, 'invalid_frame');
});
