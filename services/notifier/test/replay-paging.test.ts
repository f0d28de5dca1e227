import { PassThrough } from 'node:stream';
import {
  broadcastStream,
  compareNotificationIds,
  NOTIFICATION_FRAME_PIECES,
  type NotificationType,
  notificationBody,
  notificationFrameText,
  type StreamName,
  type StreamPositions,
  userStream,
} from '@parking-realtime/protocol';
import { broadcastChannel, createRedis, epochKey, historyKey, type RedisClient, TokenStore, userChannel } from '@parking-realtime/redis';
import { type Frame, metricValue, startRedis, TestSocket, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { buildNotifierApp } from '../src/app.js';
import { loadNotifierConfig } from '../src/config.js';

// A resume replays history a page (1000 entries) at a time per stream, merged by id across
// streams, and no faster than the client reads. History is written here as event-ingest's
// publish script writes it: XADD * to the stream, the first id as its epoch, and the frame
// published on its channel in the same atomic step.
//
// Several tests make a replay stall on purpose: the client stops reading (ws.pause()) while
// more is due than the kernel's socket buffers hold (about 4 MB on localhost: the server's
// send buffer, and a receive buffer that does not grow while nothing is read), so the replay
// waits for it mid-way, deterministically. They then wait until the notifier holds a page
// (its read counted in Redis, then a PING on its own connection answered after it): sending
// a page is synchronous up to the first wait for the client, so by the time the test acts,
// the notifier has sent all it will without the client reading.

/** Entries of about 2 KB: 8,000 of them are 16 MB, four times what the kernel buffers. */
const KB2 = 2000;
/** Entries of about 6 KB: one page of them (6 MB) is more than the kernel buffers and WS_MAX_BUFFERED_BYTES together. */
const KB6 = 6000;

// What event-ingest's publish-notifications.lua does for one target, minus dedupe and trimming;
// ARGV[5..8] are the frame's pieces (NOTIFICATION_FRAME_PIECES), as there.
const PUBLISH_LUA = `
local id = redis.call('XADD', KEYS[1], '*', 't', ARGV[1], 'b', ARGV[2])
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = id
  redis.call('SET', KEYS[2], id)
end
redis.call('PUBLISH', ARGV[3], ARGV[5] .. id .. ARGV[6] .. ARGV[4] .. ARGV[7] .. epoch .. ARGV[8] .. ARGV[2])
return id`;

type Publishing = RedisClient & {
  publishNotification(history: string, epoch: string, type: string, body: string, channel: string, stream: string, ...pieces: string[]): Promise<string>;
};

interface Target {
  channel: string;
  stream: StreamName;
  type: NotificationType;
}
const mine = (user: string, type: NotificationType): Target => ({ channel: userChannel(user, type), stream: userStream(type), type });
const everyone = (type: NotificationType): Target => ({ channel: broadcastChannel(type), stream: broadcastStream(type), type });

/**
 * A notifier on its own Redis, as support/notifier-app.ts starts one, with
 * its log kept (level debug) and a writer connection publishing as event-ingest does.
 */
async function startNotifier(env: Record<string, string> = {}) {
  const redisServer = await startRedis();
  const redis = createRedis(redisServer.url, { name: 'notifier' });
  const subscriberRedis = createRedis(redisServer.url, { name: 'notifier-sub', maxRetriesPerRequest: null });
  const writer = createRedis(redisServer.url, { name: 'writer' }) as Publishing;
  writer.defineCommand('publishNotification', { lua: PUBLISH_LUA, numberOfKeys: 2 });
  const logStream = new PassThrough();
  const logs: Array<Record<string, unknown>> = [];
  let partial = '';
  logStream.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  const app = await buildNotifierApp(loadNotifierConfig({ LOG_LEVEL: 'debug', REDIS_URL: redisServer.url, ...env }), { redis, subscriberRedis, logStream });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const tokens = new TokenStore(redis, 1800);
  const sockets: TestSocket[] = [];
  return {
    app,
    writer,
    logs,
    async connect(userId: string): Promise<TestSocket> {
      const { token } = await tokens.issue(userId);
      const socket = await TestSocket.connect(`ws://127.0.0.1:${port}/ws/notifications/?token=${token}`);
      sockets.push(socket);
      return socket;
    },
    /** Publishes one notification to `target` and returns its id; `pad` characters make it larger. */
    publish(target: Target, message: string, pad = 0): Promise<string> {
      const body = notificationBody({ type: target.type, message, data: pad ? { pad: 'x'.repeat(pad) } : {}, created_at: new Date().toISOString() });
      return writer.publishNotification(historyKey(target.channel), epochKey(target.channel), target.type, body, target.channel, target.stream, ...NOTIFICATION_FRAME_PIECES);
    },
    /**
     * History pages read so far, by every replay: read-stream.lua runs one XRANGE per page of a
     * stream that exists (a stream read only for where it stands, or missing, costs none).
     */
    async pagesRead(): Promise<number> {
      const stats = await writer.info('commandstats');
      return Number(/^cmdstat_xrange:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
    },
    /** Waits until `pages` more pages were read than `before`, and the notifier has the last one in hand. */
    async pageInHand(before: number, pages: number): Promise<void> {
      await waitFor(async () => (await this.pagesRead()) >= before + pages || null, 10_000, `${pages} page reads`);
      await redis.ping();
    },
    /** The `replay ended` log line of a user's replay, once there is one. */
    replayEnded(userId: string) {
      return waitFor(() => logs.find((l) => l.msg === 'replay ended' && l.userId === userId), 20_000, `the replay of ${userId} to end`);
    },
    async close() {
      await Promise.all(sockets.map((s) => s.close()));
      await app.close();
      for (const r of [redis, subscriberRedis, writer]) r.disconnect();
      await redisServer.stop();
    },
  };
}

type Notifier = Awaited<ReturnType<typeof startNotifier>>;

/** Publishes `count` notifications in order, `pick(i)` choosing each one's target, pipelined; returns their ids by stream. */
async function publishMany(notifier: Notifier, count: number, pick: (i: number) => Target, label: string, pad = 0): Promise<Map<StreamName, string[]>> {
  const ids = new Map<StreamName, string[]>();
  for (let start = 0; start < count; start += 500) {
    const batch = Array.from({ length: Math.min(500, count - start) }, (_, k) => start + k);
    const published = await Promise.all(batch.map((i) => notifier.publish(pick(i), `${label} ${i}`, pad)));
    for (const [k, id] of published.entries()) {
      const stream = pick(batch[k]!).stream;
      ids.set(stream, [...(ids.get(stream) ?? []), id]);
    }
  }
  return ids;
}

function merge(...all: Array<Map<StreamName, string[]>>): Map<StreamName, string[]> {
  const merged = new Map<StreamName, string[]>();
  for (const ids of all) for (const [stream, list] of ids) merged.set(stream, [...(merged.get(stream) ?? []), ...list]);
  return merged;
}

/** Where a client stands after subscribing: what it would hold to resume from. */
async function positionsOf(notifier: Notifier, userId: string, types: NotificationType[]): Promise<StreamPositions> {
  const socket = await notifier.connect(userId);
  const subscribed = await socket.subscribe(types);
  await socket.close();
  return subscribed.positions as StreamPositions;
}

const notificationsIn = (frames: Frame[], stream: StreamName) => frames.filter((f) => f.type === 'notification' && f.stream === stream).map((f) => f.id as string);

const notifier = await startNotifier();
t.teardown(() => notifier.close());

// Broadcast history is shared by every user: each test starts without it.
t.beforeEach(async () => {
  for (const type of ['reservation', 'parking_lot'] as const) await notifier.writer.del(historyKey(broadcastChannel(type)), epochKey(broadcastChannel(type)));
});

t.test('a client 5,000 broadcasts and 300 of its own behind gets them all, merged by id, with live ones exactly once, and is never cut off', async (t) => {
  const user = 'pager-1';
  const broadcasts = everyone('parking_lot');
  const own = mine(user, 'parking_lot');
  const positions = await positionsOf(notifier, user, ['parking_lot']);
  // Every 17th is the user's own: 5,000 broadcasts and 300 of its own, interleaved in time.
  const missed = await publishMany(notifier, 5300, (i) => (i % 17 === 16 && i < 17 * 300 ? own : broadcasts), 'missed', KB6);
  t.equal(missed.get(broadcasts.stream)?.length, 5000);
  t.equal(missed.get(own.stream)?.length, 300);

  const socket = await notifier.connect(user);
  const pagesBefore = await notifier.pagesRead();
  socket.send({ type: 'subscribe', notification_types: ['parking_lot'], positions });
  // The client stops reading: the replay (32 MB) waits for it within its first pages (7.8 MB).
  // Written at once, they would leave megabytes unsent and trip the slow-consumer limit.
  socket.ws.pause();
  await notifier.pageInHand(pagesBefore, 2);
  const duringReplay = await publishMany(notifier, 200, (i) => (i % 2 === 0 ? own : broadcasts), 'live during');
  t.notOk(
    notifier.logs.some((l) => l.msg === 'replay ended' && l.userId === user),
    'these live ones were published while the replay was still running',
  );
  socket.ws.resume();
  const afterwards = await publishMany(notifier, 200, (i) => (i % 2 === 0 ? own : broadcasts), 'live after');
  const lastOwn = afterwards.get(own.stream)!.at(-1);
  const lastBroadcast = afterwards.get(broadcasts.stream)!.at(-1);
  // Ids number each stream on its own: two streams can hand out the same one.
  await socket.next((f) => f.stream === own.stream && f.id === lastOwn, 20_000);
  await socket.next((f) => f.stream === broadcasts.stream && f.id === lastBroadcast, 20_000);

  const frames = socket.received;
  t.equal(socket.ws.readyState, socket.ws.OPEN, 'still open: never cut off as a slow consumer');
  t.notOk(frames.some((f) => f.type === 'resume_gap'), 'no resume_gap');
  const due = merge(missed, duringReplay, afterwards);
  for (const stream of [broadcasts.stream, own.stream]) {
    t.same(notificationsIn(frames, stream), due.get(stream), `${stream}: every one missed and every live one, once each, in order`);
  }
  const replayed = frames.filter((f) => f.type === 'notification' && String(f.message).startsWith('missed ')).map((f) => f.id as string);
  t.equal(replayed.length, 5300, 'all 5,300 missed were replayed');
  const outOfOrder = replayed.filter((id, i) => i > 0 && compareNotificationIds(replayed[i - 1]!, id) > 0);
  t.same(outOfOrder, [], 'across the two streams, the replay follows id order');
  const ended = await notifier.replayEnded(user);
  t.equal(ended.ended, 'done');
  t.ok((ended.reads as number) >= 7, `read in pages: ${ended.reads} page reads (5 full pages and an empty one, 1 of its own)`);
});

/**
 * A user 8,000 notifications of ~2 KB behind, resuming from before them with a
 * socket that reads nothing: returns once the replay holds its first page.
 */
async function stalledReplay(user: string) {
  const own = mine(user, 'reservation');
  const positions = await positionsOf(notifier, user, ['reservation']);
  const missed = (await publishMany(notifier, 8000, () => own, 'missed', KB2)).get(own.stream)!;
  const socket = await notifier.connect(user);
  const pagesBefore = await notifier.pagesRead();
  socket.send({ type: 'subscribe', notification_types: ['reservation'], positions: { [own.stream]: positions[own.stream] } });
  socket.ws.pause();
  await notifier.pageInHand(pagesBefore, 1);
  return { own, missed, socket, pagesBefore };
}

t.test('closing the socket mid-replay stops the replay: no page is read after it', async (t) => {
  const user = 'pager-close';
  const { socket, pagesBefore } = await stalledReplay(user);
  socket.ws.terminate();
  const ended = await notifier.replayEnded(user);
  t.equal(ended.ended, 'stopped', 'the replay stopped');
  const pages = (await notifier.pagesRead()) - pagesBefore;
  t.equal(pages, ended.reads, 'every page it read is counted in Redis');
  t.ok(pages < 9, `${pages} of the 9 pages a whole replay reads (8 full, 1 empty)`);
  t.ok((ended.frames as number) < 8000, `${ended.frames} of 8,000 frames sent`);
  t.equal(await notifier.pagesRead(), pagesBefore + pages, 'and none since');
});

t.test('a page read that fails mid-replay closes the socket with 4010, after a prefix of the stream and nothing live', async (t) => {
  const user = 'pager-fail';
  const { own, missed, socket } = await stalledReplay(user);
  // The next page read fails (WRONGTYPE), as a broken or unreachable Redis would. One SET
  // replaces the stream at once: a DEL before it would let a read in between find no stream
  // (a stream begun again, not a failure) and the replay would go on.
  await notifier.writer.set(historyKey(own.channel), 'not a stream');
  // Live notifications that reach the socket now must never be sent: there would be a gap before them.
  const live = notificationBody({ type: 'reservation', message: 'live', data: {}, created_at: new Date().toISOString() });
  await notifier.writer.publish(own.channel, notificationFrameText(`${Date.now() + 60_000}-0`, own.stream, 'e', live));
  socket.ws.resume();
  const { code } = await socket.closedWithin(20_000);
  t.equal(code, 4010, 'closed with resync');
  const got = notificationsIn(socket.received, own.stream);
  t.ok(got.length > 0 && got.length < missed.length, `${got.length} of ${missed.length} replayed before the failure`);
  t.same(got, missed.slice(0, got.length), 'what came is the stream from the position on, in order, with no gap');
  t.notOk(socket.received.some((f) => f.message === 'live'), 'nothing live after the failure');
  t.equal((await notifier.replayEnded(user)).ended, 'failed');
});

t.test('a client that stops reading mid-replay is cut off (4008) once live notifications pile up for it', async (t) => {
  const user = 'pager-stuck';
  const metrics = async () => metricValue((await notifier.app.inject('/metrics')).body, 'ws_connections_dropped_total', 'reason="slow_consumer"');
  const droppedBefore = await metrics();
  const { own, socket } = await stalledReplay(user);
  // 600 live notifications of about 2 KB: more than WS_MAX_BUFFERED_BYTES (1 MiB) held for it.
  await publishMany(notifier, 600, () => own, 'live', KB2);
  await waitFor(async () => (await metrics()) > droppedBefore || null, 5000, 'the slow consumer to be cut off');
  socket.ws.resume();
  const { code } = await socket.closedWithin(20_000);
  t.equal(code, 4008, 'closed as a slow consumer');
  const ended = await notifier.replayEnded(user);
  t.equal(ended.ended, 'stopped');
  t.ok((ended.reads as number) < 10, `it stopped reading: ${ended.reads} page reads`);
});

t.test('a stream trimmed past the replay while it runs: resume_gap, then what the stream still holds', async (t) => {
  const user = 'pager-trim';
  const { own, missed, socket } = await stalledReplay(user);
  // Stalled within its first few MB (2 or 3 pages here; 7 would need 15 MB of socket buffers):
  // the oldest 7,499 go, as the window would take them.
  await notifier.writer.xtrim(historyKey(own.channel), 'MINID', missed[7499]!);
  socket.ws.resume();
  const live = await notifier.publish(own, 'live');
  await socket.next((f) => f.id === live, 20_000);
  const afterSubscribed = socket.received.slice(socket.received.findIndex((f) => f.type === 'subscribed') + 1);
  const gapAt = afterSubscribed.findIndex((f) => f.type === 'resume_gap');
  t.same(afterSubscribed[gapAt], { type: 'resume_gap', streams: [own.stream] }, 'the gap names the stream');
  const before = notificationsIn(afterSubscribed.slice(0, gapAt), own.stream);
  t.ok(before.length > 0 && before.length % 1000 === 0 && before.length < 7499, `before it, whole pages: ${before.length}`);
  t.same(before, missed.slice(0, before.length), 'in order, from the position on');
  t.same(notificationsIn(afterSubscribed.slice(gapAt + 1), own.stream), [...missed.slice(7499), live], 'after it, all the stream still holds, then live');
});

t.test('a stream that began again while it is replayed: resume_gap, then the new stream in its new epoch', async (t) => {
  const user = 'pager-epoch';
  const { own, missed, socket } = await stalledReplay(user);
  // Redis lost the stream (a failover before replication): it begins again, with a new epoch.
  await notifier.writer.del(historyKey(own.channel), epochKey(own.channel));
  const fresh = (await publishMany(notifier, 50, () => own, 'fresh')).get(own.stream)!;
  socket.ws.resume();
  await socket.next((f) => f.id === fresh.at(-1), 20_000);
  const afterSubscribed = socket.received.slice(socket.received.findIndex((f) => f.type === 'subscribed') + 1);
  const gapAt = afterSubscribed.findIndex((f) => f.type === 'resume_gap');
  t.same(afterSubscribed[gapAt], { type: 'resume_gap', streams: [own.stream] });
  const before = notificationsIn(afterSubscribed.slice(0, gapAt), own.stream);
  t.same(before, missed.slice(0, before.length), 'before it, the old stream in order');
  const after = afterSubscribed.slice(gapAt + 1).filter((f) => f.type === 'notification');
  t.same(after.map((f) => f.id), fresh, 'after it, the new stream from its start');
  t.same(new Set(after.map((f) => f.epoch)), new Set([fresh[0]]), 'in its new epoch');
});

t.test('past REPLAY_MAX_FRAMES in a stream, resume_gap, the first REPLAY_MAX_FRAMES, then live; exactly that many is no gap', async (t) => {
  const capped = await startNotifier({ REPLAY_MAX_FRAMES: '1500' });
  t.teardown(() => capped.close());
  const broadcasts = everyone('parking_lot');

  // 2,000 missed: a page of 1,000, then the second page finds more than the 500 still allowed.
  const far = 'cap-far';
  const farPositions = await positionsOf(capped, far, ['parking_lot']);
  const missed = (await publishMany(capped, 2000, () => broadcasts, 'missed')).get(broadcasts.stream)!;
  const socket = await capped.connect(far);
  await socket.subscribe(['parking_lot'], { positions: farPositions });
  await socket.next((f) => f.type === 'resume_gap', 10_000);
  const live = await capped.publish(broadcasts, 'live');
  await socket.next((f) => f.id === live, 10_000);
  const afterSubscribed = socket.received.slice(socket.received.findIndex((f) => f.type === 'subscribed') + 1);
  const gapAt = afterSubscribed.findIndex((f) => f.type === 'resume_gap');
  t.same(afterSubscribed[gapAt], { type: 'resume_gap', streams: [broadcasts.stream] }, 'the gap names the stream');
  t.equal(gapAt, 1000, 'announced once the first page is sent, before anything it leaves out would come');
  t.same(notificationsIn(afterSubscribed, broadcasts.stream), [...missed.slice(0, 1500), live], 'the first 1,500, then live: never the 500 past the limit');

  // Exactly 1,500 missed: all of them, and no gap.
  const near = 'cap-near';
  const nearPositions = await positionsOf(capped, near, ['parking_lot']);
  const missedNear = (await publishMany(capped, 1500, () => broadcasts, 'missed')).get(broadcasts.stream)!;
  const back = await capped.connect(near);
  await back.subscribe(['parking_lot'], { positions: nearPositions });
  // Published only once the replay is over: one published while it runs is in the stream it
  // replays, the 1,501st entry, and would rightly make it a gap.
  await capped.replayEnded(near);
  const liveNear = await capped.publish(broadcasts, 'live');
  await back.next((f) => f.id === liveNear, 10_000);
  t.notOk(back.received.some((f) => f.type === 'resume_gap'), 'no gap');
  t.same(notificationsIn(back.received, broadcasts.stream), [...missedNear, liveNear]);
});

t.test('REPLAY_MAX_FRAMES is validated', async (t) => {
  t.equal(loadNotifierConfig({}).replayMaxFrames, 30_000, 'default 30000');
  t.throws(() => loadNotifierConfig({ REPLAY_MAX_FRAMES: '0' }), /REPLAY_MAX_FRAMES/);
  t.throws(() => loadNotifierConfig({ REPLAY_MAX_FRAMES: 'many' }), /REPLAY_MAX_FRAMES/);
});
