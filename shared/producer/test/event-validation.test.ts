import { MAX_DATA_DEPTH, MAX_USER_IDS } from '@parking-realtime/protocol';
import t from 'tap';
import { acceptEvent, assertEvent, eventErrors, InvalidEventError } from '../src/index.js';

const base = { type: 'reservation', message: 'm', user_ids: [1] } as const;

/** `{"a": [[[ ... ]]]}`: an object around `levels - 1` arrays, as a body of 20 KB parses. */
function deepData(levels: number): Record<string, unknown> {
  return JSON.parse(`{"a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`);
}

t.test('data nested 10,000 levels deep: the depth field error, no RangeError', async (t) => {
  const event = { ...base, data: deepData(10_000) };
  let errors: ReturnType<typeof eventErrors> = [];
  t.doesNotThrow(() => {
    errors = eventErrors(event);
  }, 'eventErrors does not throw');
  t.same(errors, [{ path: '/data', message: `must not nest deeper than ${MAX_DATA_DEPTH} levels of objects and arrays` }]);
  const thrown = t.throws(() => assertEvent(event)) as InvalidEventError;
  t.type(thrown, InvalidEventError, 'assertEvent throws InvalidEventError, not RangeError');
  t.equal(thrown.code, 'invalid_event');
  t.same(
    thrown.errors.map((e) => e.path),
    ['/data'],
  );
  t.throws(() => acceptEvent(event as never), InvalidEventError, 'so the producer refuses it before storing anything');
});

t.test('1,000,000 levels, built in memory, answer the same', async (t) => {
  let data: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) data = { a: data };
  t.same(eventErrors({ ...base, data }).map((e) => e.path), ['/data']);
});

t.test('exactly MAX_DATA_DEPTH levels pass, one more does not', async (t) => {
  t.same(eventErrors({ ...base, data: deepData(MAX_DATA_DEPTH) }), []);
  t.same(eventErrors({ ...base, data: deepData(MAX_DATA_DEPTH + 1) }).map((e) => e.path), ['/data']);
});

t.test('data too deep and other fields wrong: the errors of the other fields too', async (t) => {
  const errors = eventErrors({ type: 'payment', message: '', data: deepData(10_000), user_ids: [] });
  t.same(errors.map((e) => e.path).sort(), ['/data', '/message', '/type', '/user_ids']);
});

t.test('user_ids: MAX_USER_IDS pass, one more is a field error on /user_ids', async (t) => {
  const users = (n: number) => Array.from({ length: n }, (_, i) => i);
  t.same(eventErrors({ ...base, data: {}, user_ids: users(MAX_USER_IDS) }), []);
  const errors = eventErrors({ ...base, data: {}, user_ids: users(MAX_USER_IDS + 1) });
  t.same(errors.map((e) => e.path), ['/user_ids']);
  t.match(errors[0]?.message, /1000/);
});
