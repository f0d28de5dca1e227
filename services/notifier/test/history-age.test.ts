import { type NotificationType, notificationBody, notificationFrameText, type StreamName, userStream } from '@parking-realtime/protocol';
import { broadcastChannel, epochKey, historyKey, userChannel } from '@parking-realtime/redis';
import t from 'tap';
import { startNotifierApp } from './support/notifier-app.js';

// History is written here as event-ingest's publish script writes it (one
// stream per channel, field `t` the type and `b` the frame body, an epoch key
// beside it), with ids chosen to be older or newer than the notifier's
// HISTORY_MAX_AGE_SECONDS.
const MAX_AGE_SECONDS = 3600;
const HOUR = 3_600_000;
const MINUTE = 60_000;

const notifier = await startNotifierApp({ HISTORY_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS) });
const { redis, publisher, connect } = notifier;
t.teardown(() => notifier.close());

// Broadcast history is shared by every user: each test starts without it.
t.beforeEach(async () => {
  for (const type of ['reservation', 'parking_lot'] as const) await redis.del(historyKey(broadcastChannel(type)), epochKey(broadcastChannel(type)));
});

const userHistory = (user: string, type: NotificationType = 'reservation') => userChannel(user, type);
const broadcastHistory = (type: NotificationType = 'reservation') => broadcastChannel(type);

function body(type: NotificationType, message: string): string {
  return notificationBody({ type, message, data: {}, created_at: new Date().toISOString() });
}

/** Appends a notification to a channel's stream under `id`, as the publisher does (the first entry sets the epoch). */
async function addToHistory(channel: string, id: string, type: NotificationType, message: string): Promise<void> {
  await redis.xadd(historyKey(channel), id, 't', type, 'b', body(type, message));
  await redis.set(epochKey(channel), id, 'NX');
}

/**
 * Resumes with `resume` (a `last_id` or `positions`), then publishes a live
 * notification newer than everything: once it arrives the replay is over.
 * Returns every frame after `subscribed`, the live one last.
 */
async function resume(userId: string, from: Record<string, unknown>): Promise<Array<{ type: string; id?: unknown; message?: unknown; streams?: unknown }>> {
  const socket = await connect(userId);
  await socket.subscribe(['reservation'], from);
  const stream: StreamName = userStream('reservation');
  const live = notificationFrameText(`${Date.now() + MINUTE}-0`, stream, 'live-epoch', body('reservation', 'live'));
  await publisher.publish(userChannel(userId, 'reservation'), live);
  await socket.next((f) => f.type === 'notification' && f.message === 'live', 5000);
  const afterSubscribed = socket.received.slice(socket.received.findIndex((f) => f.type === 'subscribed') + 1);
  return afterSubscribed.map((f) => ({ type: f.type, id: f.id, message: f.message, ...(f.type === 'resume_gap' ? { streams: f.streams } : {}) }));
}

t.test('a resume from before the window: resume_gap first, then only the entries within the window', async (t) => {
  const now = Date.now();
  const old = `${now - 2 * HOUR}-0`;
  const newer = `${now - 10 * MINUTE}-0`;
  const newest = `${now - 5 * MINUTE}-0`;
  await addToHistory(userHistory('age-1'), old, 'reservation', 'too old');
  await addToHistory(userHistory('age-1'), newer, 'reservation', 'newer');
  await addToHistory(broadcastHistory(), newest, 'reservation', 'newest');
  const lastId = `${now - 3 * HOUR}-0`;

  const frames = await resume('age-1', { last_id: lastId });
  t.same(
    frames,
    [
      { type: 'resume_gap', id: undefined, message: undefined, streams: ['user:reservation', 'all:reservation'] },
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
  await addToHistory(userHistory('age-2'), seen, 'reservation', 'seen');
  await addToHistory(userHistory('age-2'), lastId, 'reservation', 'last seen');
  await addToHistory(broadcastHistory(), missed1, 'reservation', 'missed 1');
  await addToHistory(userHistory('age-2'), missed2, 'reservation', 'missed 2');
  await addToHistory(userHistory('age-2', 'parking_lot'), `${now - 7 * MINUTE}-0`, 'parking_lot', 'another type');
  await addToHistory(broadcastHistory(), missed3, 'reservation', 'missed 3');

  const frames = await resume('age-2', { last_id: lastId });
  t.same(frames, [
    { type: 'notification', id: missed1, message: 'missed 1' },
    { type: 'notification', id: missed2, message: 'missed 2' },
    { type: 'notification', id: missed3, message: 'missed 3' },
    { type: 'notification', id: frames.at(-1)?.id, message: 'live' },
  ]);
});

t.test('a resume from before the window gets resume_gap even with no history left at all (streams expire)', async (t) => {
  const frames = await resume('age-3', { last_id: `${Date.now() - 2 * HOUR}-0` });
  t.same(frames.map((f) => f.type), ['resume_gap', 'notification'], 'the gap, then only the live notification');
});

t.test('a resume by positions: exactly what followed each position, per stream, and no gap', async (t) => {
  const now = Date.now();
  const first = `${now - 20 * MINUTE}-0`;
  await addToHistory(userHistory('pos-1'), first, 'reservation', 'seen');
  await addToHistory(userHistory('pos-1'), `${now - 10 * MINUTE}-0`, 'reservation', 'missed mine');
  const broadcastFirst = `${now - 15 * MINUTE}-0`;
  await addToHistory(broadcastHistory(), broadcastFirst, 'reservation', 'seen broadcast');
  await addToHistory(broadcastHistory(), `${now - 5 * MINUTE}-0`, 'reservation', 'missed broadcast');
  const frames = await resume('pos-1', {
    positions: { 'user:reservation': { id: first, epoch: first }, 'all:reservation': { id: broadcastFirst, epoch: broadcastFirst } },
  });
  t.same(
    frames.map((f) => f.message),
    ['missed mine', 'missed broadcast', 'live'],
  );
});

t.test('a position in a stream that began again since (another epoch) is a gap in that stream only', async (t) => {
  const now = Date.now();
  await addToHistory(userHistory('pos-2'), `${now - 10 * MINUTE}-0`, 'reservation', 'in the new stream');
  const broadcastSeen = `${now - 15 * MINUTE}-0`;
  await addToHistory(broadcastHistory(), broadcastSeen, 'reservation', 'seen broadcast');
  const frames = await resume('pos-2', {
    positions: { 'user:reservation': { id: `${now - 30 * MINUTE}-0`, epoch: `${now - 40 * MINUTE}-0` }, 'all:reservation': { id: broadcastSeen, epoch: broadcastSeen } },
  });
  t.same(frames[0], { type: 'resume_gap', id: undefined, message: undefined, streams: ['user:reservation'] });
  t.same(frames.slice(1).map((f) => f.message), ['in the new stream', 'live'], 'then all the new stream holds');
});

t.test('a position taken when a stream did not exist yet (empty epoch) replays all it has since', async (t) => {
  const socket = await connect('pos-3');
  const subscribed = await socket.subscribe(['reservation']);
  const held = (subscribed.positions as Record<string, { id: string; epoch: string }>)['user:reservation']!;
  t.equal(held.epoch, '', 'no stream yet: no epoch');
  await socket.close();
  await addToHistory(userHistory('pos-3'), `${Date.now()}-0`, 'reservation', 'while away');
  const frames = await resume('pos-3', { positions: { 'user:reservation': held } });
  t.same(frames.map((f) => f.message), ['while away', 'live'], 'no gap, the new stream from its start');
});

t.test('subscribed leaves out the streams a resume replays, so a client cut off mid-replay resumes from what it got', async (t) => {
  const now = Date.now();
  const seen = `${now - 20 * MINUTE}-0`;
  await addToHistory(userHistory('pos-4'), seen, 'reservation', 'seen');
  await addToHistory(userHistory('pos-4'), `${now - 10 * MINUTE}-0`, 'reservation', 'missed');
  const socket = await connect('pos-4');
  const subscribed = await socket.subscribe(['reservation'], {
    positions: { 'user:reservation': { id: seen, epoch: seen }, 'all:reservation': { id: `${now - 30 * MINUTE}-0`, epoch: `${now - 40 * MINUTE}-0` } },
  });
  t.same(Object.keys(subscribed.positions as object), ['all:reservation'], 'only the stream with a gap and nothing to replay gets its tip');
  await socket.next((f) => f.type === 'notification' && f.message === 'missed', 5000);
});

t.test('a history read that fails sends the client away to resume again, never live with a silent gap', async (t) => {
  await redis.set(historyKey(userHistory('pos-5')), 'not a stream');
  t.teardown(() => redis.del(historyKey(userHistory('pos-5'))));
  const socket = await connect('pos-5');
  socket.send({ type: 'subscribe', notification_types: ['reservation'], last_id: `${Date.now() - MINUTE}-0` });
  const { code } = await socket.closedWithin(20_000);
  t.equal(code, 4010, 'closed with resync');
  t.notOk(socket.received.some((f) => f.type === 'subscribed' || f.type === 'notification'), 'nothing was sent as if live');
});
