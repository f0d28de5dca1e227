import t from 'tap';
import { expiresWithin } from '../src/demo-login';

const jwtWith = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
const now = Date.UTC(2026, 10, 28, 12, 0, 0);

t.test('a JWT is renewed once it is within the margin of its exp, and not before', async (t) => {
  const exp = now / 1000 + 3600;
  t.equal(expiresWithin(jwtWith({ exp }), 60_000, now), false, 'an hour left');
  t.equal(expiresWithin(jwtWith({ exp }), 60_000, now + 3540_001), true, 'under a minute left');
  t.equal(expiresWithin(jwtWith({ exp }), 60_000, now + 3_600_000 + 1), true, 'expired');
});

t.test('a JWT whose expiry cannot be read counts as expiring', async (t) => {
  t.equal(expiresWithin('not-a-jwt', 60_000, now), true);
  t.equal(expiresWithin(jwtWith({ user_id: 1 }), 60_000, now), true, 'no exp');
  t.equal(expiresWithin('a.%%%.c', 60_000, now), true, 'not base64');
});
