import { readdirSync, readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import t from 'tap';
import {
  advancePosition,
  ClientFrame,
  ErrorBody,
  NotificationEvent,
  NotificationFrame,
  notificationBody,
  notificationFrameText,
  ServerFrame,
  type StreamPositions,
  WsTokenResponse,
} from '../src/index.js';

t.test('the wire examples of docs/protocol.md match the schemas', async (t) => {
  t.ok(Value.Check(WsTokenResponse, { ws_token: 'abc', expires_in: 1800 }));
  t.ok(Value.Check(ClientFrame, { type: 'subscribe', notification_types: ['reservation', 'parking_lot'] }));
  t.ok(Value.Check(ClientFrame, { type: 'subscribe', notification_types: ['reservation'], last_id: '1-0' }));
  t.ok(Value.Check(ClientFrame, { type: 'unsubscribe', notification_types: ['parking_lot'] }));
  t.ok(Value.Check(ClientFrame, { type: 'ping' }));
  t.ok(
    Value.Check(NotificationFrame, {
      type: 'notification',
      id: '1795921416360-0',
      stream: 'user:reservation',
      epoch: '1795921400000-0',
      notification_type: 'reservation',
      message: 'New reservation created',
      data: { reservation_id: 123, status: 'active' },
      created_at: '2026-11-28T03:00:00.000Z',
    }),
  );
  for (const frame of [
    { type: 'subscribed', notification_types: ['reservation'], positions: { 'user:reservation': { id: '1-0', epoch: '' }, 'all:reservation': { id: '2-0', epoch: '1-0' } } },
    { type: 'unsubscribed', notification_types: ['reservation'] },
    { type: 'pong' },
    { type: 'error', code: 'malformed_json', message: 'x' },
    { type: 'resume_gap', streams: ['all:parking_lot'] },
    { type: 'resume_gap', streams: ['user:reservation'], last_id: '1-0' },
  ]) {
    t.ok(Value.Check(ServerFrame, frame), frame.type);
  }
  t.ok(Value.Check(ErrorBody, { code: 'invalid_event', message: 'x', errors: [{ path: '/type', message: 'y' }] }));
});

t.test('subscribe takes positions by stream, and refuses what is not one', async (t) => {
  const subscribe = (positions: unknown) => Value.Check(ClientFrame, { type: 'subscribe', notification_types: ['reservation'], positions });
  t.ok(subscribe({ 'user:reservation': { id: '1795921416360-0', epoch: '1795921400000-0' }, 'all:parking_lot': { id: '5-0', epoch: '' } }));
  t.notOk(subscribe({ 'user:payment': { id: '1-0', epoch: '' } }), 'an unknown stream');
  t.notOk(subscribe({ 'user:reservation': { id: 'x', epoch: '' } }), 'an id that is not one');
  t.notOk(subscribe({ 'user:reservation': { id: '1-0', epoch: 'x'.repeat(41) } }), 'an epoch that is not one');
  t.notOk(subscribe({ 'user:reservation': { id: '1-0', epoch: '', extra: 1 } }), 'anything more');
});

t.test('advancePosition: a new epoch replaces, within one a later id moves, an earlier one does not', async (t) => {
  const positions: StreamPositions = {};
  advancePosition(positions, 'all:reservation', '10-0', 'e1');
  advancePosition(positions, 'all:reservation', '9-5', 'e1');
  t.same(positions['all:reservation'], { id: '10-0', epoch: 'e1' }, 'behind: kept');
  advancePosition(positions, 'all:reservation', '10-1', 'e1');
  t.same(positions['all:reservation'], { id: '10-1', epoch: 'e1' }, 'later: moved (compared as numbers, not strings)');
  advancePosition(positions, 'all:reservation', '3-0', 'e2');
  t.same(positions['all:reservation'], { id: '3-0', epoch: 'e2' }, 'another epoch: replaced');
});

t.test('a frame built by notificationFrameText is a valid notification with its body unchanged', async (t) => {
  const event = { type: 'parking_lot' as const, message: 'Lot B full', data: { lot: 'B', nested: { free: 0 } }, created_at: '2026-11-29T03:00:00.000Z' };
  const frame = JSON.parse(notificationFrameText('12-3', 'all:parking_lot', '10-0', notificationBody(event)));
  t.ok(Value.Check(NotificationFrame, frame));
  t.same(frame, { type: 'notification', id: '12-3', stream: 'all:parking_lot', epoch: '10-0', notification_type: 'parking_lot', message: event.message, data: event.data, created_at: event.created_at });
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
