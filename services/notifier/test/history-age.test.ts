import type { NotificationType } from '@parking-realtime/protocol';
import { broadcastHistoryKey, userChannel, userHistoryKey } from '@parking-realtime/server';
import t from 'tap';
import { readMissed } from '../src/history-reader.js';
import { startNotifierApp } from './support/notifier-app.js';

// History is written here with XADD, as event-ingest's publish script writes
// it (field `t` the type, `f` the frame), with ids chosen to be older or newer
// than the notifier's HISTORY_MAX_AGE_SECONDS.
const MAX_AGE_SECONDS = 3600;
const HOUR = 3_600_000;
const MINUTE = 60_000;

const notifier = await startNotifierApp({ HISTORY_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS) });
const { redis, publisher, connect } = notifier;
t.teardown(() => notifier.close());

// Broadcast history is shared by every user: each test starts without it.
t.beforeEach(async () => {
  await redis.del(broadcastHistoryKey('reservation'), broadcastHistoryKey('parking_lot'));
});

function notification(id: string, type: NotificationType, message: string): string {
  return JSON.stringify({ type: 'notification', id, notification_type: type, message, data: {}, created_at: new Date().toISOString() });
}

/** Appends a notification to a history stream under `id`, as the publisher does; returns its frame. */
async function addToHistory(key: string, id: string, type: NotificationType, message: string): Promise<string> {
  const frame = notification(id, type, message);
  await redis.xadd(key, id, 't', type, 'f', frame);
  return frame;
}

/**
 * Resumes from `lastId`, then publishes a live notification newer than
 * everything: once it arrives the replay is over. Returns every frame after
 * `subscribed`, the live one last.
 */
async function resume(userId: string, lastId: string): Promise<Array<{ type: string; id?: unknown; message?: unknown }>> {
  const socket = await connect(userId);
  await socket.subscribe(['reservation'], { last_id: lastId });
  const live = notification(`${Date.now() + MINUTE}-0`, 'reservation', 'live');
  await publisher.publish(userChannel(userId, 'reservation'), live);
  await socket.next((f) => f.type === 'notification' && f.message === 'live', 5000);
  const afterSubscribed = socket.received.slice(socket.received.findIndex((f) => f.type === 'subscribed') + 1);
  return afterSubscribed.map((f) => ({ type: f.type, id: f.id, message: f.message }));
}

t.test('a resume from before the window: resume_gap first, then only the entries within the window', async (t) => {
  const now = Date.now();
  const old = `${now - 2 * HOUR}-0`;
  const newer = `${now - 10 * MINUTE}-0`;
  const newest = `${now - 5 * MINUTE}-0`;
  await addToHistory(userHistoryKey('age-1'), old, 'reservation', 'too old');
  await addToHistory(userHistoryKey('age-1'), newer, 'reservation', 'newer');
  await addToHistory(broadcastHistoryKey('reservation'), newest, 'reservation', 'newest');
  const lastId = `${now - 3 * HOUR}-0`;

  const frames = await resume('age-1', lastId);
  t.same(
    frames,
    [
      { type: 'resume_gap', id: undefined, message: undefined },
      { type: 'notification', id: newer, message: 'newer' },
      { type: 'notification', id: newest, message: 'newest' },
      { type: 'notification', id: frames.at(-1)?.id, message: 'live' },
    ],
    'the gap is announced before anything is replayed, and the entry older than the max age is not replayed',
  );
  t.notOk(frames.some((f) => f.message === 'too old'), 'the old entry never arrives');
});

t.test('a resume from within the window: exactly the missed entries, in id order, and no resume_gap', async (t) => {
  const now = Date.now();
  const seen = `${now - 20 * MINUTE}-0`;
  const lastId = `${now - 15 * MINUTE}-3`;
  const missed1 = `${now - 15 * MINUTE}-4`;
  const missed2 = `${now - 10 * MINUTE}-0`;
  const missed3 = `${now - 5 * MINUTE}-0`;
  await addToHistory(userHistoryKey('age-2'), seen, 'reservation', 'seen');
  await addToHistory(userHistoryKey('age-2'), lastId, 'reservation', 'last seen');
  await addToHistory(broadcastHistoryKey('reservation'), missed1, 'reservation', 'missed 1');
  await addToHistory(userHistoryKey('age-2'), missed2, 'reservation', 'missed 2');
  await addToHistory(userHistoryKey('age-2'), `${now - 7 * MINUTE}-0`, 'parking_lot', 'another type');
  await addToHistory(broadcastHistoryKey('reservation'), missed3, 'reservation', 'missed 3');

  const frames = await resume('age-2', lastId);
  t.same(frames, [
    { type: 'notification', id: missed1, message: 'missed 1' },
    { type: 'notification', id: missed2, message: 'missed 2' },
    { type: 'notification', id: missed3, message: 'missed 3' },
    { type: 'notification', id: frames.at(-1)?.id, message: 'live' },
  ]);
});

t.test('a resume from before the window gets resume_gap even with no history left at all (streams expire)', async (t) => {
  const frames = await resume('age-3', `${Date.now() - 2 * HOUR}-0`);
  t.same(frames.map((f) => f.type), ['resume_gap', 'notification'], 'the gap, then only the live notification');
});

t.test('readMissed: the window starts at now - max age, to the millisecond', async (t) => {
  const now = 1_800_000_000_000;
  const maxAgeMs = HOUR;
  const edge = now - maxAgeMs;
  const key = userHistoryKey('age-4');
  await addToHistory(key, `${edge - 1}-5`, 'reservation', 'just too old');
  await addToHistory(key, `${edge}-0`, 'reservation', 'oldest kept');
  await addToHistory(key, `${edge}-1`, 'reservation', 'next');
  const read = (lastId: string) => readMissed(redis, 'age-4', ['reservation'], lastId, { maxAgeMs, now });
  const ids = (m: Awaited<ReturnType<typeof read>>) => m.frames.map((f) => f.id);

  const from0 = await read(`${edge}-0`);
  t.same({ gap: from0.gap, ids: ids(from0) }, { gap: false, ids: [`${edge}-1`] }, 'last_id at the edge: no gap, the rest');
  const fromBefore = await read(`${edge - 1}-4`);
  t.same(
    { gap: fromBefore.gap, ids: ids(fromBefore) },
    { gap: true, ids: [`${edge}-0`, `${edge}-1`] },
    'last_id a millisecond older: a gap, and nothing older than the window',
  );
  const fromJustBefore = await read(`${edge - 1}-5`);
  t.equal(fromJustBefore.gap, true, 'last_id the newest entry outside the window: still a gap (its ms are outside)');
});
