import { deepStrictEqual, equal } from 'node:assert/strict';
import {
  type AcceptedEvent,
  broadcastStream,
  NotificationFrame,
  notificationCreatedAtOf,
  notificationIdOf,
  type StreamName,
  userStream,
} from '@parking-realtime/protocol';
import { broadcastChannel, createRedis, epochKey, historyKey, userChannel } from '@parking-realtime/redis';
import { contextOfTraceparent, frameAfterTraceHeader, hasTraceHeader, startTracing, traceHeaderOf } from '@parking-realtime/runtime';
import { startRedis } from '@parking-realtime/testing';
import fc from 'fast-check';
import { Value } from 'typebox/value';
import t, { type Test } from 'tap';
import { NotificationPublisher } from '../src/notification-publisher.js';

// Frames as the real publisher script makes them on a real Redis, read back
// the two ways the notifier and clients read them: by the shared readers, and
// by JSON.parse against the protocol's schema.

const redisServer = await startRedis();
const redis = createRedis(redisServer.url, { name: 'test' });
const subscriber = createRedis(redisServer.url, { name: 'subscriber' });
const publisherRedis = createRedis(redisServer.url, { name: 'publisher' });
const publisher = new NotificationPublisher(publisherRedis, { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 3600 });
t.teardown(async () => {
  for (const r of [redis, subscriber, publisherRedis]) r.disconnect();
  await redisServer.stop();
});

/** Messages as Redis delivered them, per channel, and their waiters. */
const inbox = new Map<string, Buffer[]>();
const waiting = new Map<string, () => void>();
subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
  const name = channel.toString();
  inbox.set(name, [...(inbox.get(name) ?? []), message]);
  waiting.get(name)?.();
});

/** The next message published on `channel`, or a rejection after five seconds. */
function nextMessage(channel: string): Promise<Buffer> {
  const taken = () => inbox.get(channel)?.shift();
  const ready = taken();
  if (ready) return Promise.resolve(ready);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing published on ${channel}`)), 5000);
    waiting.set(channel, () => {
      const message = taken();
      if (!message) return;
      clearTimeout(timer);
      waiting.delete(channel);
      resolve(message);
    });
  });
}

let n = 0;
/** An accepted event for `user` (or everyone), with the given message and data. */
function event(user: string | undefined, message: string, data: Record<string, unknown>): AcceptedEvent {
  n += 1;
  return { id: `frame-${n}`, type: 'reservation', message, data, created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString(), ...(user && { user_ids: [user] }) };
}

/** What one published event came back as: its trace line, and its frame read both ways. */
interface RoundTrip {
  /** The line before the frame, if any. */
  traceLine: string | undefined;
  /** The id history gave the notification, and the readers' id and created_at. */
  historyId: string;
  readId: string;
  readCreatedAt: string;
  /** The frame parsed, whether the schema takes it, and what it should say. */
  parsed: unknown;
  valid: boolean;
  expected: unknown;
}

/** Publishes `e` (under `trace`, a parent context, when given) and reads back the one message it made. */
async function roundTrip(e: AcceptedEvent, trace?: ReturnType<typeof contextOfTraceparent>): Promise<RoundTrip> {
  const [channel, stream]: [string, StreamName] = e.user_ids
    ? [userChannel(String(e.user_ids[0]), e.type), userStream(e.type)]
    : [broadcastChannel(e.type), broadcastStream(e.type)];
  await subscriber.subscribe(channel);
  const published = nextMessage(channel);
  if (!(await publisher.publish(e, trace))) throw new Error(`${e.id} was taken for a duplicate`);
  const message = await published;
  await subscriber.unsubscribe(channel);
  const traced = hasTraceHeader(message);
  const frame = traced ? frameAfterTraceHeader(message) : message;
  const entries = (await redis.xrange(historyKey(channel), '-', '+')) as Array<[string, string[]]>;
  const historyId = entries.at(-1)![0];
  const epoch = (await redis.get(epochKey(channel)))!;
  const parsed: unknown = JSON.parse(frame.toString('utf8'));
  return {
    traceLine: traced ? traceHeaderOf(message) : undefined,
    historyId,
    readId: notificationIdOf(frame),
    readCreatedAt: notificationCreatedAtOf(frame),
    parsed,
    valid: Value.Check(NotificationFrame, parsed),
    expected: { type: 'notification', id: historyId, stream, epoch, created_at: e.created_at, notification_type: e.type, message: e.message, data: e.data },
  };
}

/** A parent context in a known trace, as a worker's span would be. */
const CALLER_TRACE = 'a'.repeat(32);

function assertRoundTrip(t: Test, e: AcceptedEvent, got: RoundTrip, traced: boolean): void {
  if (traced) t.match(got.traceLine, new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`), `${e.id}: the publish span's traceparent, then the frame`);
  else t.equal(got.traceLine, undefined, `${e.id}: the frame alone`);
  t.equal(got.readId, got.historyId, 'the reader gives the id history holds');
  t.equal(got.readCreatedAt, e.created_at, "the reader gives the event's created_at");
  t.ok(got.valid, 'JSON.parse gives a notification frame, by the schema');
  t.same(got.parsed, got.expected, 'with the same values');
}

const awkward: Array<[string, Record<string, unknown>]> = [
  ['Réservation 🚗 für 駐車場 — ça marche', { 名前: 'ü', emoji: '🅿️', combining: 'e\u0301' }],
  ['He said "hi" \\ then C:\\lots\\A\n\ttab', { 'q"uote': 'a\\"b', 'back\\slash': '\\', created_at: '"created_at":"1999-01-01T00:00:00.000Z"' }],
  ['nested', { a: { b: { c: [1, { d: null }, 'x', [true, false]] } }, empty: {}, list: [], n: -1.5e-7 }],
  ['', { '': '', '","epoch":"': '"}' }],
];

t.test('frames the publisher script makes give back their id and created_at, and parse to their event (no trace line)', async (t) => {
  for (const [message, data] of awkward) {
    for (const user of ['plain-user', undefined]) {
      const e = event(user, message, data);
      assertRoundTrip(t, e, await roundTrip(e), false);
    }
  }
});

t.test('the same with tracing on: the trace line comes before the frame and changes nothing in it', async (t) => {
  const tracing = await startTracing('frame-test', { spanProcessors: [] });
  t.teardown(() => tracing?.shutdown());
  const caller = contextOfTraceparent(`00-${CALLER_TRACE}-${'b'.repeat(16)}-01`);
  for (const [message, data] of awkward) {
    for (const user of ['traced-user', undefined]) {
      const e = event(user, message, data);
      assertRoundTrip(t, e, await roundTrip(e, caller), true);
    }
  }
});

t.test('any message and data: the readers and JSON.parse agree with the event, through the real script', async (t) => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: 'binary' }), fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue()), async (message, data) => {
      runs += 1;
      // As JSON carries it: no -0, no undefined.
      const e = event(`any-${runs}`, message, JSON.parse(JSON.stringify(data)));
      const got = await roundTrip(e);
      equal(got.traceLine, undefined);
      equal(got.readId, got.historyId);
      equal(got.readCreatedAt, e.created_at);
      equal(got.valid, true);
      deepStrictEqual(got.parsed, got.expected);
    }),
    { numRuns: 100 },
  );
  t.pass(`${runs} events published and read back`);
});
