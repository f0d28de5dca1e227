import { metricValue, serviceJwt, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { SERVICE_SECRET as SECRET, startIngestApp } from './support/ingest-app.js';

const ingest = await startIngestApp({ redis: { appendonly: true } });
const { app, redis, redisServer } = ingest;
t.teardown(() => ingest.close());

const auth = { authorization: `Bearer ${serviceJwt(SECRET)}` };
const post = (payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url: '/api/events/', headers, payload: payload as object });

/** Every stored copy of an event, with the job that holds it, oldest job first. */
const stored = async (id: string) => (await ingest.storedEvents()).filter(({ event }) => event.id === id);

const reservation = { type: 'reservation', message: 'New reservation created', data: { reservation_id: 123, status: 'active' }, user_ids: [1] };

t.test('202 with the id once the event is stored, in a job of its own id space', async (t) => {
  const res = await post({ ...reservation, id: 'evt-1' });
  t.equal(res.statusCode, 202);
  t.same(res.json(), { id: 'evt-1' });
  const [copy, ...more] = await stored('evt-1');
  t.ok(copy, 'the event is in Redis when 202 is answered');
  t.equal(more.length, 0);
  t.not(copy!.job.id, 'evt-1', 'the job id is BullMQ\'s, not the event id');
  t.match(copy!.event, { ...reservation, id: 'evt-1' });
  t.match(copy!.event.created_at, /^\d{4}-\d\d-\d\dT/);
});

t.test('an id is generated when absent', async (t) => {
  const res = await post({ type: 'parking_lot', message: 'Lot A has 3 free spots', data: { lot_id: 1, free: 3 } });
  t.equal(res.statusCode, 202);
  t.match(res.json().id, /^[0-9a-f-]{36}$/);
  t.equal((await stored(res.json().id)).length, 1);
});

t.test('the same id twice is accepted twice, stored as it came, in order (the worker publishes it once)', async (t) => {
  t.equal((await post({ ...reservation, id: 'evt-dup' })).statusCode, 202);
  t.equal((await post({ ...reservation, id: 'evt-dup', message: 'changed' })).statusCode, 202);
  t.same(
    (await stored('evt-dup')).map((c) => c.event.message),
    [reservation.message, 'changed'],
  );
});

t.test('events arriving together are stored in one write to Redis, each answered for itself', async (t) => {
  const readsByRedis = async () => Number(/total_reads_processed:(\d+)/.exec(await redis.info('stats'))![1]);
  const before = await readsByRedis();
  const ids = ['evt-b1', 'evt-b2', 'evt-b1', 'evt-b3', 'evt-b4', 'evt-b5', 'evt-b6', 'evt-b7'];
  const answers = await Promise.all(ids.map((id, i) => post({ ...reservation, id, data: { i } })));
  // One read for the batch and one for each INFO; the batch would cost a read per event unbatched.
  t.ok((await readsByRedis()) - before <= 3, 'Redis read the batch at once');
  t.same(
    answers.map((a) => [a.statusCode, a.json().id]),
    ids.map((id) => [202, id]),
  );
  const [job, ...others] = new Set((await stored('evt-b2')).map((c) => c.job));
  t.equal(others.length, 0);
  t.same(
    job!.data.events.map((e) => [e.id, e.data]),
    ids.map((id, i) => [id, { i }]),
    'one job holds every event, a repeated id too, in the order they arrived',
  );
});

const invalid: Array<[string, unknown, string]> = [
  ['an unknown type', { ...reservation, type: 'payment' }, '/type'],
  ['a missing message', { type: 'reservation', data: {} }, '/'],
  ['data that is not an object', { ...reservation, data: [1] }, '/data'],
  ['an unknown field', { ...reservation, extra: 1 }, '/'],
  ['empty user_ids', { ...reservation, user_ids: [] }, '/user_ids'],
  ['a user id that is an object', { ...reservation, user_ids: [{ id: 1 }] }, '/user_ids/0'],
  ['an id with a colon', { ...reservation, id: 'a:b' }, '/id'],
  ['an all-digit id', { ...reservation, id: '123' }, '/id'],
];

for (const [what, body, path] of invalid) {
  t.test(`400 invalid_event with field errors for ${what}`, async (t) => {
    const res = await post(body);
    t.equal(res.statusCode, 400);
    const json = res.json();
    t.equal(json.code, 'invalid_event');
    t.ok(
      json.errors.some((e: { path: string }) => e.path === path),
      `an error at ${path}: ${JSON.stringify(json.errors)}`,
    );
  });
}

t.test('400 malformed_json for a body that is not JSON', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/api/events/', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"type":' });
  t.equal(res.statusCode, 400);
  t.equal(res.json().code, 'malformed_json');
});

t.test('413 for a body over the limit', async (t) => {
  const res = await post({ ...reservation, data: { pad: 'x'.repeat(70_000) } });
  t.equal(res.statusCode, 413);
  t.equal(res.json().code, 'body_too_large');
});

t.test('401 without a service JWT, 401 for a bad one, 403 without the scope', async (t) => {
  const none = await post(reservation, {});
  t.equal(none.statusCode, 401);
  t.equal(none.json().code, 'auth_missing');
  const wrong = await post(reservation, { authorization: `Bearer ${serviceJwt('another-secret-that-is-long-enough-0123')}` });
  t.equal(wrong.statusCode, 401);
  t.equal(wrong.json().code, 'auth_invalid_signature');
  const scopeless = await post(reservation, { authorization: `Bearer ${serviceJwt(SECRET, 'events:read')}` });
  t.equal(scopeless.statusCode, 403);
  t.equal(scopeless.json().code, 'auth_forbidden');
  const arrayScope = await post(reservation, { authorization: `Bearer ${serviceJwt(SECRET, undefined, { scope: ['x', 'events:publish'] })}` });
  t.equal(arrayScope.statusCode, 202, 'scope may be an array');
});

t.test('401 comes before validation: an unauthenticated bad body learns nothing', async (t) => {
  const res = await post({ nonsense: true }, {});
  t.equal(res.statusCode, 401);
});

const metric = async (name: string, labels = '') => {
  const text = (await app.inject({ url: '/metrics' })).body;
  return metricValue(text, name, labels);
};

t.test('/metrics counts accepted events exactly and reads queue counts from Redis', async (t) => {
  const accepted = await metric('events_accepted_total', 'type="parking_lot"');
  const waiting = await metric('queue_jobs', 'state="waiting"');
  t.equal((await post({ type: 'parking_lot', message: 'metric', data: {} })).statusCode, 202);
  t.equal((await metric('events_accepted_total', 'type="parking_lot"')) - accepted, 1);
  t.equal((await metric('queue_jobs', 'state="waiting"')) - waiting, 1, 'no worker runs here, so it waits');
});

t.test('503 while Redis is unreachable, 202 again once it is back', async (t) => {
  await redisServer.kill();
  await waitFor(() => redis.status !== 'ready', 5000, 'the connection to notice');
  const during = await post({ ...reservation, id: 'evt-outage' });
  t.equal(during.statusCode, 503);
  t.equal(during.json().code, 'redis_unavailable');
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);

  await redisServer.restart();
  await waitFor(() => redis.status === 'ready', 10_000, 'reconnect');
  const after = await post({ ...reservation, id: 'evt-after' });
  t.equal(after.statusCode, 202);
  t.equal((await stored('evt-outage')).length, 0, 'the refused event was not stored');
  t.equal((await stored('evt-1')).length, 1, 'what was accepted before survived the restart');
});
