import t from 'tap';
import { Type } from 'typebox';
import { loadEnv, redactUrl, safeRedisUrl } from '../src/index.js';

const schema = {
  PORT: Type.Integer({ default: 8000, minimum: 0, maximum: 65535 }),
  NAME: Type.String({ default: 'x', minLength: 1 }),
  FLAG: Type.Optional(Type.String()),
};

t.test('defaults apply, strings convert, unrelated variables are ignored, empty means unset', async (t) => {
  t.same(loadEnv(schema, { PATH: '/bin' }), { PORT: 8000, NAME: 'x' });
  t.same(loadEnv(schema, { PORT: '9', NAME: '' }), { PORT: 9, NAME: 'x' });
});

t.test('every bad variable is named', async (t) => {
  t.throws(() => loadEnv(schema, { PORT: '70000' }), { name: 'ConfigError', message: 'Invalid environment: PORT: must be <= 65535 (got "70000")' });
  try {
    loadEnv(schema, { PORT: 'x' });
    t.fail('should throw');
  } catch (err) {
    t.match((err as Error).message, /PORT/);
  }
});

t.test('token-bearing query parameters are masked in logged URLs', async (t) => {
  t.equal(redactUrl('/ws/notifications/?token=abc.def&x=1'), '/ws/notifications/?token=[REDACTED]&x=1');
  t.equal(redactUrl('/a?x=1&ws_token=zzz'), '/a?x=1&ws_token=[REDACTED]');
  t.equal(redactUrl('/api/events/'), '/api/events/');
});

t.test('Redis passwords are masked in logged URLs', async (t) => {
  t.equal(safeRedisUrl('redis://user:secret@host:6379/0'), 'redis://user:***@host:6379/0');
  t.equal(safeRedisUrl('redis://host:6379'), 'redis://host:6379');
});
