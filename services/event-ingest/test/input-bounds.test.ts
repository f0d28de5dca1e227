import { MAX_DATA_DEPTH, MAX_USER_IDS } from '@parking-realtime/protocol';
import { serviceJwt } from '@parking-realtime/testing';
import t from 'tap';
import { SERVICE_SECRET as SECRET, startIngestApp } from './support/ingest-app.js';

const ingest = await startIngestApp();
const { app, config } = ingest;
t.teardown(() => ingest.close());

const headers = { authorization: `Bearer ${serviceJwt(SECRET)}`, 'content-type': 'application/json' };
/** POSTs the text as it is: a deep body is written by hand, never by JSON.stringify. */
const post = (body: string) => app.inject({ method: 'POST', url: '/api/events/', headers, payload: body });

/** The ids of every event stored on the queue. */
const storedIds = async () => (await ingest.storedEvents()).map(({ event }) => event.id!);

type Refusal = { code: string; message: string; errors: Array<{ path: string; message: string }> };

/** `{"a": [[[ ... ]]]}`: data nested `levels` deep, the object being level 1. */
const deepData = (levels: number) => `{"a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
const event = (id: string, data: string, userIds = '["u-1"]') =>
  `{"id":"${id}","type":"reservation","message":"m","data":${data},"user_ids":${userIds}}`;
const userIds = (count: number) => JSON.stringify(Array.from({ length: count }, (_, i) => `u-${i}`));

t.test('data nested 10,000 levels deep: 400 invalid_event with a field error on /data; a normal event after it: 202', async (t) => {
  const body = event('deep-1', deepData(10_000));
  t.ok(body.length < config.bodyLimitBytes, `the body (${body.length} bytes) is under the body limit`);
  const refused = await post(body);
  t.equal(refused.statusCode, 400);
  const json = refused.json<Refusal>();
  t.equal(json.code, 'invalid_event');
  t.same(json.errors, [{ path: '/data', message: `must not nest deeper than ${MAX_DATA_DEPTH} levels of objects and arrays` }]);
  t.match(json.message, /\/data/);

  const accepted = await post(event('after-deep-1', '{"ok":true}'));
  t.equal(accepted.statusCode, 202);
  t.same(accepted.json(), { id: 'after-deep-1' });
  const ids = await storedIds();
  t.ok(ids.includes('after-deep-1'), 'the normal event is stored');
  t.notOk(ids.includes('deep-1'), 'the deep one is not');
});

t.test('data exactly MAX_DATA_DEPTH deep: 202; one level more: 400', async (t) => {
  t.equal((await post(event('depth-ok', deepData(MAX_DATA_DEPTH)))).statusCode, 202);
  const over = await post(event('depth-over', deepData(MAX_DATA_DEPTH + 1)));
  t.equal(over.statusCode, 400);
  t.same(over.json<Refusal>().errors.map((e) => e.path), ['/data']);
});

t.test('too deep and another field wrong: both field errors', async (t) => {
  const res = await post(event('deep-2', deepData(10_000), '[]'));
  t.equal(res.statusCode, 400);
  t.equal(res.json<Refusal>().code, 'invalid_event');
  t.same(res.json<Refusal>().errors.map((e) => e.path).sort(), ['/data', '/user_ids']);
});

t.test(`${MAX_USER_IDS + 1} user_ids: 400 invalid_event with a field error on /user_ids; ${MAX_USER_IDS}: 202`, async (t) => {
  const refused = await post(event('many-users-over', '{}', userIds(MAX_USER_IDS + 1)));
  t.equal(refused.statusCode, 400);
  const json = refused.json<Refusal>();
  t.equal(json.code, 'invalid_event');
  t.same(json.errors.map((e) => e.path), ['/user_ids']);
  t.match(json.errors[0]?.message, String(MAX_USER_IDS));

  const accepted = await post(event('many-users', '{}', userIds(MAX_USER_IDS)));
  t.equal(accepted.statusCode, 202);
  t.same(accepted.json(), { id: 'many-users' });
  const ids = await storedIds();
  t.ok(ids.includes('many-users'));
  t.notOk(ids.includes('many-users-over'));
});
