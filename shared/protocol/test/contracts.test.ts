import { readdirSync, readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import t from 'tap';
import {
  ClientFrame,
  ErrorBody,
  NotificationEvent,
  NotificationFrame,
  ServerFrame,
  WsTokenResponse,
} from '../src/index.js';

t.test('the wire examples of DESIGN.md match the schemas', async (t) => {
  t.ok(Value.Check(WsTokenResponse, { ws_token: 'abc', expires_in: 1800 }));
  t.ok(Value.Check(ClientFrame, { type: 'subscribe', notification_types: ['reservation', 'parking_lot'] }));
  t.ok(Value.Check(ClientFrame, { type: 'subscribe', notification_types: ['reservation'], last_id: '1-0' }));
  t.ok(Value.Check(ClientFrame, { type: 'unsubscribe', notification_types: ['parking_lot'] }));
  t.ok(Value.Check(ClientFrame, { type: 'ping' }));
  t.ok(
    Value.Check(NotificationFrame, {
      type: 'notification',
      id: '1764300000000-0',
      notification_type: 'reservation',
      message: 'New reservation created',
      data: { reservation_id: 123, status: 'active' },
      created_at: '2026-11-28T03:00:00.000Z',
    }),
  );
  for (const frame of [
    { type: 'subscribed', notification_types: ['reservation'] },
    { type: 'unsubscribed', notification_types: ['reservation'] },
    { type: 'pong' },
    { type: 'error', code: 'malformed_json', message: 'x' },
    { type: 'resume_gap', last_id: '1-0' },
  ]) {
    t.ok(Value.Check(ServerFrame, frame), frame.type);
  }
  t.ok(Value.Check(ErrorBody, { code: 'invalid_event', message: 'x', errors: [{ path: '/type', message: 'y' }] }));
});

t.test('events: targeted, broadcast, and what is refused', async (t) => {
  const base = { type: 'reservation', message: 'New reservation created', data: { reservation_id: 123 } };
  t.ok(Value.Check(NotificationEvent, base), 'broadcast');
  t.ok(Value.Check(NotificationEvent, { ...base, user_ids: [1, 'abc-2'], id: 'res-123-created' }), 'targeted');
  t.notOk(Value.Check(NotificationEvent, { ...base, type: 'payment' }), 'unknown type');
  t.notOk(Value.Check(NotificationEvent, { ...base, user_ids: [] }), 'empty user_ids');
  t.notOk(Value.Check(NotificationEvent, { ...base, data: null }), 'data must be an object');
  t.notOk(Value.Check(NotificationEvent, { ...base, id: '42' }), 'ids BullMQ would refuse');
  t.notOk(Value.Check(NotificationEvent, { ...base, user_ids: [-1] }), 'negative user id');
});

t.test('the protocol package is browser-safe: no Node modules imported', async (t) => {
  const dir = new URL('../src/', import.meta.url);
  for (const file of readdirSync(dir)) {
    const source = readFileSync(new URL(file, dir), 'utf8');
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
    for (const spec of imports) {
      t.ok(spec.startsWith('./') || spec === 'typebox' || spec.startsWith('typebox/'), `${file} imports ${spec}`);
    }
  }
});
