import { deepStrictEqual, equal } from 'node:assert/strict';
import fc from 'fast-check';
import { Value } from 'typebox/value';
import t from 'tap';
import {
  broadcastStream,
  NOTIFICATION_TYPES,
  NotificationFrame,
  notificationBody,
  notificationCreatedAtOf,
  notificationFrameText,
  notificationIdOf,
  userStream,
} from '../src/index.js';

const streamId = fc.tuple(fc.nat(), fc.nat()).map(([ms, seq]) => `${ms}-${seq}`);
const stream = fc.constantFrom(...NOTIFICATION_TYPES).chain((type) => fc.constantFrom(userStream(type), broadcastStream(type)));
// What the schema's date-time takes, from year 0 to 9999.
const createdAt = fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString());
// Full Unicode, lone surrogates included, and the text a reader looks for, to tempt it.
const text = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('"created_at":"2000-01-01T00:00:00.000Z"', '","epoch":"', '\\"', '"'));
const data = fc.dictionary(text, fc.jsonValue());

t.test('builder to reader: any frame gives back its id and created_at, and parses to its fields', async (t) => {
  fc.assert(
    fc.property(streamId, stream, fc.oneof(streamId, fc.constant('')), fc.constantFrom(...NOTIFICATION_TYPES), text, data, createdAt, (id, s, epoch, type, message, d, at) => {
      const frame = notificationFrameText(id, s, epoch, notificationBody({ type, message, data: d, created_at: at }));
      const bytes = Buffer.from(frame);
      equal(notificationIdOf(bytes), id);
      equal(notificationCreatedAtOf(bytes), at);
      const parsed = JSON.parse(frame);
      // JSON has no -0 nor undefined: the data as JSON carries it.
      deepStrictEqual(parsed, { type: 'notification', id, stream: s, epoch, created_at: at, notification_type: type, message, data: JSON.parse(JSON.stringify(d)) });
      equal(Value.Check(NotificationFrame, parsed), true, 'a valid notification frame');
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 frames read back');
});

t.test('a frame laid out otherwise (an older publisher put created_at last) gives no created_at, not a wrong one', async (t) => {
  const older = Buffer.from(
    '{"type":"notification","id":"5-0","stream":"user:reservation","epoch":"1-0","notification_type":"reservation","message":"m","data":{},"created_at":"2026-01-01T00:00:00.000Z"}',
  );
  t.equal(notificationIdOf(older), '5-0', 'its id, at the same place as ever');
  t.equal(notificationCreatedAtOf(older), '');
  t.ok(Number.isNaN(Date.parse(notificationCreatedAtOf(older))), 'which is no time');
  t.equal(notificationCreatedAtOf(Buffer.from('{"type":"notification"')), '', 'nor from a frame cut short');
});
