import { Value } from 'typebox/value';
import t from 'tap';
import { eventDepthErrors, MAX_DATA_DEPTH, MAX_USER_IDS, NotificationEvent, nestsDeeperThan } from '../src/index.js';

/** `levels` objects, one inside the next, the innermost holding `leaf`. */
function objects(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/** `levels` arrays, one inside the next. */
function arrays(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

t.test('depth counts objects and arrays, the value itself being level 1', async (t) => {
  for (const scalar of [null, 0, 'x', true, undefined]) t.notOk(nestsDeeperThan(scalar, 0), `${scalar} is depth 0`);
  t.ok(nestsDeeperThan({}, 0), '{} is depth 1');
  t.notOk(nestsDeeperThan({}, 1), '{} within 1');
  t.notOk(nestsDeeperThan([], 1), '[] within 1');
  t.notOk(nestsDeeperThan({ a: 1, b: 'x', c: null }, 1), 'scalars add no level');
  t.ok(nestsDeeperThan({ a: [1] }, 1), '{"a": [1]} is depth 2');
  t.notOk(nestsDeeperThan({ a: [1] }, 2), '{"a": [1]} within 2');
  t.notOk(nestsDeeperThan({ a: {}, b: [], c: { d: 1 } }, 2), 'the deepest branch counts, not their sum');
});

t.test('the exact boundary: 32 levels pass, 33 do not', async (t) => {
  t.equal(MAX_DATA_DEPTH, 32);
  t.notOk(nestsDeeperThan(objects(32), 32), '32 objects');
  t.ok(nestsDeeperThan(objects(33), 32), '33 objects');
  t.notOk(nestsDeeperThan(arrays(32), 32), '32 arrays');
  t.ok(nestsDeeperThan(arrays(33), 32), '33 arrays');
  t.notOk(nestsDeeperThan(objects(32, {}), 33), '32 objects around {} within 33');
  t.ok(nestsDeeperThan(objects(32, {}), 32), 'an empty object at the bottom is a level too');
});

t.test('objects and arrays mixed, the deep branch anywhere', async (t) => {
  // {"x": [ {"y": [ ... ] } ] }: alternating, 32 levels in all.
  let mixed: unknown = 'leaf';
  for (let i = 0; i < 32; i++) mixed = i % 2 ? { y: mixed } : [mixed];
  t.notOk(nestsDeeperThan(mixed, 32), '32 alternating levels');
  t.ok(nestsDeeperThan([mixed], 32), 'inside one more array');
  t.ok(nestsDeeperThan({ y: mixed }, 32), 'inside one more object');
  // Wide and shallow beside one deep branch, the deep branch first, last, in the middle:
  // {"wide": [..., 31 objects, ...]} is 33 levels.
  const shallow = Array.from({ length: 100 }, (_, i) => ({ i, list: [i, { j: i }] }));
  for (const at of [0, 50, 100]) {
    const wide = [...shallow.slice(0, at), objects(31), ...shallow.slice(at)];
    t.ok(nestsDeeperThan({ wide }, 32), `33 levels at item ${at}`);
    t.notOk(nestsDeeperThan({ wide }, 33), `within 33 at item ${at}`);
  }
  t.ok(nestsDeeperThan({ a: 1, b: { c: [2, 3, { d: objects(29) }] } }, 32), '4 + 29 levels');
  t.notOk(nestsDeeperThan({ a: 1, b: { c: [2, 3, { d: objects(28) }] } }, 32), '4 + 28 levels');
});

t.test('1,000,000 levels: answered without recursion, in limit steps', async (t) => {
  const deepArray = arrays(1_000_000);
  const started = performance.now();
  t.doesNotThrow(() => t.ok(nestsDeeperThan(deepArray, MAX_DATA_DEPTH), 'too deep'), 'does not throw');
  t.ok(nestsDeeperThan(objects(1_000_000), MAX_DATA_DEPTH), '1,000,000 objects too');
  t.ok(nestsDeeperThan(arrays(1_000_000), 999_999), 'even a limit of 999,999 is walked without recursion');
  t.notOk(nestsDeeperThan(arrays(1_000_000), 1_000_000), 'and within 1,000,000');
  t.ok(performance.now() - started < 5000, 'quickly');
});

t.test('a cycle counts as nesting without end', async (t) => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  t.ok(nestsDeeperThan(cyclic, MAX_DATA_DEPTH), 'too deep, and it ends');
});

t.test('eventDepthErrors: a field error on /data that names the limit, nothing otherwise', async (t) => {
  const base = { type: 'reservation', message: 'm' };
  t.same(eventDepthErrors({ ...base, data: objects(32) }), []);
  const [error, ...more] = eventDepthErrors({ ...base, data: objects(33) });
  t.equal(more.length, 0);
  t.equal(error?.path, '/data');
  t.match(error?.message, /32/);
  t.same(eventDepthErrors({ ...base, data: { a: arrays(10_000) } }).map((e) => e.path), ['/data']);
  for (const notAnEvent of [null, 'x', 3, [objects(40)], { ...base }]) t.same(eventDepthErrors(notAnEvent), []);
});

t.test('user_ids: at most MAX_USER_IDS', async (t) => {
  t.equal(MAX_USER_IDS, 1000);
  const base = { type: 'reservation', message: 'm', data: {} };
  const users = (n: number) => Array.from({ length: n }, (_, i) => `u-${i}`);
  t.ok(Value.Check(NotificationEvent, { ...base, user_ids: users(MAX_USER_IDS) }), '1000 users');
  t.notOk(Value.Check(NotificationEvent, { ...base, user_ids: users(MAX_USER_IDS + 1) }), '1001 users');
});
