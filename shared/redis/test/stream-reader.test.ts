import { compareNotificationIds } from '@parking-realtime/protocol';
import { startRedis, startRedisCluster } from '@parking-realtime/testing';
import t, { type Test } from 'tap';
import { createRedis, type RedisClient } from '../src/redis.js';
import { broadcastChannel, epochKey, historyKey, userChannel } from '../src/redis-names.js';
import { EPOCH_UNKNOWN, type HistoryReadOptions, prepareStreamReads, readStreamHistory, readStreamPositions, type StreamPosition } from '../src/stream-reader.js';

// Streams are written here as event-ingest's publish-notifications.lua lays
// them out (field `t` the type, `b` the frame body; the epoch key holds the
// id of the stream's first entry), with ids chosen older or newer than the
// maximum age the reads are given.
const HOUR = 3_600_000;
const MINUTE = 60_000;
const MAX_AGE = HOUR;

const server = await startRedis();
const redis = prepareStreamReads(createRedis(server.url, { name: 'stream-reader-test' }));
t.teardown(async () => {
  redis.disconnect();
  await server.stop();
});

let streams = 0;
/** A channel no other test writes to. */
const freshChannel = () => userChannel(`reader-${++streams}`, 'reservation');

/** Appends entries at these ids (their bodies are `body <id>`); the first one of a stream that has no epoch sets it. */
async function append(channel: string, ...ids: string[]): Promise<void> {
  for (const id of ids) {
    await redis.xadd(historyKey(channel), id, 't', 'reservation', 'b', `body ${id}`);
    await redis.set(epochKey(channel), id, 'NX');
  }
}

/** Ids `minutesAgo` minutes before now, oldest first. */
const ago = (...minutesAgo: number[]) => {
  const now = Date.now();
  return minutesAgo.map((m) => `${now - m * MINUTE}-0`);
};

const read = (channel: string, options: Partial<HistoryReadOptions>) => readStreamHistory(redis, channel, { after: undefined, maxAgeMs: MAX_AGE, count: 10, ...options });
const idsOf = (r: { entries: Array<{ id: string }> }) => r.entries.map((e) => e.id);

t.test('a stream that does not exist: no epoch, and a tip below any id it hands out next', async (t) => {
  const channel = freshChannel();
  const missing = await read(channel, {});
  t.same({ epoch: missing.epoch, gap: missing.gap, entries: missing.entries }, { epoch: '', gap: false, entries: [] });
  const first = await redis.xadd(historyKey(channel), '*', 'b', 'x');
  t.ok(compareNotificationIds(missing.tip, first!) < 0, `${missing.tip} is before ${first}`);

  const existing = await read(channel, { count: 0 });
  t.equal(existing.tip, first, 'an existing stream: the last id it handed out');
});

t.test('after a position: exactly the entries after it, oldest first, a page at a time, with the epoch, no gap', async (t) => {
  const channel = freshChannel();
  const ids = ago(50, 40, 30, 20, 10);
  await append(channel, ...ids);
  const epoch = ids[0]!;

  const all = await read(channel, { after: { id: ids[1]!, epoch } });
  t.same(all.entries, ids.slice(2).map((id) => ({ id, body: `body ${id}` })));
  t.same({ epoch: all.epoch, tip: all.tip, gap: all.gap }, { epoch, tip: ids[4], gap: false });

  const page = await read(channel, { after: { id: ids[0]!, epoch }, count: 2 });
  t.same(idsOf(page), ids.slice(1, 3), 'at most count entries, the oldest');
  const next = await read(channel, { after: { id: ids[2]!, epoch }, count: 2 });
  t.same(idsOf(next), ids.slice(3, 5), 'the next page goes on after the last id of the one before');
  t.same(idsOf(await read(channel, { after: { id: ids[4]!, epoch } })), [], 'at the tip: nothing');
});

t.test('a position taken before the stream existed (empty epoch): all of it, no gap', async (t) => {
  const channel = freshChannel();
  const before = await read(channel, { count: 0 });
  const ids = ago(2, 1);
  await append(channel, ...ids);
  const r = await read(channel, { after: { id: ago(3)[0]!, epoch: before.epoch } });
  t.same({ gap: r.gap, ids: idsOf(r), epoch: r.epoch }, { gap: false, ids, epoch: ids[0] });
});

t.test('without a position: the most recent entries, oldest first, none older than the maximum age, never a gap', async (t) => {
  const channel = freshChannel();
  const ids = ago(90, 30, 20, 10);
  await append(channel, ...ids);
  const recent = await read(channel, { count: 2 });
  t.same({ gap: recent.gap, ids: idsOf(recent) }, { gap: false, ids: ids.slice(2) });
  t.same(idsOf(await read(channel, { count: 10 })), ids.slice(1), 'the one from 90 minutes ago is past the maximum age');
  t.same(idsOf(await read(channel, { count: 10, maxAgeMs: 2 * HOUR })), ids, 'within a longer one, it is returned');
  t.same(idsOf(await read(freshChannel(), { count: 10 })), [], 'a missing stream has none');
});

t.test('count 0: only the epoch and the tip, whatever the position', async (t) => {
  const channel = freshChannel();
  const ids = ago(30, 20);
  await append(channel, ...ids);
  t.same(await read(channel, { count: 0 }), { epoch: ids[0], tip: ids[1], gap: false, entries: [] });
  t.same(await read(channel, { count: 0, after: { id: ago(120)[0]!, epoch: 'another-epoch' } }), { epoch: ids[0], tip: ids[1], gap: false, entries: [] }, 'even one that would be a gap');
});

t.test('entries after the position were trimmed: a gap, and what is left; the position itself kept: none', async (t) => {
  const channel = freshChannel();
  const ids = ago(50, 40, 30, 20, 10);
  await append(channel, ...ids);
  const epoch = ids[0]!;
  // As the publisher trims (XTRIM MINID): the entries at 40 and 30 minutes ago go though a client at 50 never saw them.
  await redis.xtrim(historyKey(channel), 'MINID', ids[3]!);
  const trimmed = await read(channel, { after: { id: ids[0]!, epoch } });
  t.same({ gap: trimmed.gap, ids: idsOf(trimmed) }, { gap: true, ids: ids.slice(3) });
  const kept = await read(channel, { after: { id: ids[3]!, epoch } });
  t.same({ gap: kept.gap, ids: idsOf(kept) }, { gap: false, ids: ids.slice(4) }, 'a position the trim kept');

  // Trimmed to nothing: a gap for a position before the tip, none at it.
  await redis.xtrim(historyKey(channel), 'MAXLEN', 0);
  t.equal((await read(channel, { after: { id: ids[3]!, epoch } })).gap, true);
  t.equal((await read(channel, { after: { id: ids[4]!, epoch } })).gap, false);
});

t.test('an entry after the position was deleted (XDEL): a gap', async (t) => {
  const channel = freshChannel();
  const ids = ago(30, 20, 10);
  await append(channel, ...ids);
  await redis.xdel(historyKey(channel), ids[1]!);
  const r = await read(channel, { after: { id: ids[0]!, epoch: ids[0]! } });
  t.same({ gap: r.gap, ids: idsOf(r) }, { gap: true, ids: [ids[2]] });
  t.equal((await read(channel, { after: { id: ids[1]!, epoch: ids[0]! } })).gap, false, 'from a position at or past it, none');
});

t.test('the stream began again (another epoch): a gap, and the new epoch from its start; gone though the position had seen it: a gap', async (t) => {
  const channel = freshChannel();
  const [old] = ago(50);
  await append(channel, old!);
  await redis.del(historyKey(channel), epochKey(channel));

  const gone = await read(channel, { after: { id: old!, epoch: old! } });
  t.same({ epoch: gone.epoch, gap: gone.gap, entries: gone.entries }, { epoch: '', gap: true, entries: [] });

  // The new epoch's ids may lie before the old position (another node's clock): all are returned.
  const renewed = ago(55, 10);
  await append(channel, ...renewed);
  const r = await read(channel, { after: { id: old!, epoch: old! } });
  t.same({ epoch: r.epoch, gap: r.gap, ids: idsOf(r) }, { epoch: renewed[0], gap: true, ids: renewed });
  t.equal((await read(channel, { after: { id: renewed[0]!, epoch: renewed[0]! } })).gap, false, 'a position in the new epoch: no gap');
});

t.test(`epoch '${EPOCH_UNKNOWN}': a position by time alone, epochs never checked`, async (t) => {
  const channel = freshChannel();
  const ids = ago(30, 20, 10);
  await append(channel, ...ids);
  const r = await read(channel, { after: { id: ago(25)[0]!, epoch: EPOCH_UNKNOWN } });
  t.same({ epoch: r.epoch, gap: r.gap, ids: idsOf(r) }, { epoch: ids[0], gap: false, ids: ids.slice(1) });

  const missing = await read(freshChannel(), { after: { id: ago(25)[0]!, epoch: EPOCH_UNKNOWN } });
  t.same({ gap: missing.gap, entries: missing.entries }, { gap: false, entries: [] }, 'a missing stream within the maximum age: nothing lost');
  const old = await read(freshChannel(), { after: { id: ago(120)[0]!, epoch: EPOCH_UNKNOWN } });
  t.equal(old.gap, true, 'one from before the maximum age: a stream may have come and expired since');
});

t.test('the maximum age: older entries are never returned, and an older position is a gap', async (t) => {
  const channel = freshChannel();
  const ids = ago(120, 90, 30);
  await append(channel, ...ids);
  const r = await read(channel, { after: { id: ids[0]!, epoch: ids[0]! } });
  t.same({ gap: r.gap, ids: idsOf(r) }, { gap: true, ids: [ids[2]] });
  const within = await read(channel, { after: { id: ids[0]!, epoch: ids[0]! }, maxAgeMs: 3 * HOUR });
  t.same({ gap: within.gap, ids: idsOf(within) }, { gap: false, ids: ids.slice(1) }, 'within a longer maximum age: all of it');

  // A stream that did not exist then and does not now may have come and expired in between.
  const missing = await read(freshChannel(), { after: { id: ago(120)[0]!, epoch: '' } });
  t.same({ gap: missing.gap, entries: missing.entries }, { gap: true, entries: [] });
  t.equal((await read(freshChannel(), { after: { id: ago(30)[0]!, epoch: '' } })).gap, false, 'a recent one: nothing lost');
});

t.test('an entry without a body (never written by the publisher) reads with an empty one', async (t) => {
  const channel = freshChannel();
  const [id] = ago(10);
  await redis.xadd(historyKey(channel), id!, 't', 'reservation', 'x', 'b');
  t.same((await read(channel, {})).entries, [{ id, body: '' }]);
});

// auth-token's connection auto-pipelines. ioredis 5 throws out of its reply
// handling (ending the process) when a script is first defined in a turn whose
// auto-pipeline already holds a command, so the reader is prepared where the
// app is built and refuses a connection that was not.
t.test('on an auto-pipelining connection: prepared, reads share a turn with other commands; unprepared, a read is refused, nothing thrown', async (t) => {
  const prepared = prepareStreamReads(createRedis(server.url, { name: 'prepared', autoPipelining: true }));
  const unprepared = createRedis(server.url, { name: 'unprepared', autoPipelining: true });
  t.teardown(() => {
    prepared.disconnect();
    unprepared.disconnect();
  });
  const channel = freshChannel();
  const [id] = ago(1);
  await append(channel, id!);
  await prepared.set('reader-neighbour', 'before');

  // One turn: a plain command, the first read on this connection, another plain command.
  const [before, page, after] = await Promise.all([
    prepared.get('reader-neighbour'),
    readStreamHistory(prepared, channel, { after: undefined, maxAgeMs: MAX_AGE, count: 10 }),
    prepared.echo('after'),
  ]);
  t.equal(before, 'before', 'the command before the read got its own answer');
  t.same(idsOf(page), [id], 'the read got its entries');
  t.equal(after, 'after', 'the command after the read got its own answer');

  const [neighbour, refused] = await Promise.allSettled([unprepared.get('reader-neighbour'), readStreamHistory(unprepared, channel, { after: undefined, maxAgeMs: MAX_AGE, count: 10 })]);
  t.same(neighbour, { status: 'fulfilled', value: 'before' }, 'the unprepared connection goes on serving');
  t.equal(refused.status, 'rejected');
  t.match(String((refused as PromiseRejectedResult).reason), /prepareStreamReads/, 'the refusal says what to do');
});

/**
 * Streams in every state a position read can find, with the position the script's
 * count-0 read gives each (`expected`): missing, as first written, with its newest
 * entry deleted (the tip stays past it), and begun again in another epoch.
 */
async function streamsInEveryState(client: RedisClient, channels: string[]): Promise<StreamPosition[]> {
  const [missing, written, deleted, again] = channels as [string, string, string, string];
  await client.del(historyKey(missing), epochKey(missing));
  for (const channel of [written, deleted, again]) {
    const first = await client.xadd(historyKey(channel), '*', 'b', 'one');
    await client.set(epochKey(channel), first!);
    await client.xadd(historyKey(channel), '*', 'b', 'two');
  }
  const newest = await client.xrevrange(historyKey(deleted), '+', '-', 'COUNT', 1);
  await client.xdel(historyKey(deleted), newest[0]![0]);
  await client.del(historyKey(again));
  const restarted = await client.xadd(historyKey(again), '*', 'b', 'three');
  await client.set(epochKey(again), restarted!);
  return Promise.all(channels.map(async (channel) => {
    const { epoch, tip } = await readStreamHistory(client, channel, { after: undefined, maxAgeMs: MAX_AGE, count: 0 });
    return { epoch, tip };
  }));
}

/** Equal positions, but a missing stream's tip is a moment, read at two moments: only its epoch and that it is a time just now. */
function samePositions(t: Test, got: StreamPosition[], expected: StreamPosition[]): void {
  t.same(got.slice(1), expected.slice(1), 'existing streams: the same epoch and tip as the script reads');
  t.equal(got[0]!.epoch, '', 'a missing stream: no epoch');
  const [ms] = got[0]!.tip.split('-').map(Number);
  t.ok(Math.abs(ms! - Date.now()) < MINUTE && got[0]!.tip.endsWith('-0'), `a missing stream: a tip just below now (${got[0]!.tip})`);
}

/** Script calls Redis ran so far: EVALSHA, and EVAL (ioredis' fallback the first time a script is not loaded yet). */
async function scriptCalls(): Promise<number> {
  const stats = await redis.info('commandstats');
  const calls = (command: string) => Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}

t.test('readStreamPositions: where each stream stands, as readStreamHistory says it with count 0, all in one script call', async (t) => {
  const channels = [freshChannel(), freshChannel(), freshChannel(), freshChannel()];
  const expected = await streamsInEveryState(redis, channels);
  const before = await scriptCalls();
  const got = await readStreamPositions(redis, channels);
  t.equal(await scriptCalls(), before + 1, 'one script call for the four streams');
  samePositions(t, got, expected);
  t.same(await readStreamPositions(redis, []), [], 'no streams: nothing read');
  t.equal(await scriptCalls(), before + 1, 'and none for no streams');
});

t.test('readStreamPositions on a Redis Cluster: a user\'s streams and the broadcasts, one call per slot group', async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  const client = prepareStreamReads(createRedis({ clusterNodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) }, { name: 'stream-reader-cluster' }));
  t.teardown(async () => {
    client.disconnect();
    await cluster.stop();
  });
  // Three slot groups: the user's two streams share one; each broadcast stream has its own.
  const channels = [userChannel('cluster-reader', 'reservation'), userChannel('cluster-reader', 'parking_lot'), broadcastChannel('reservation'), broadcastChannel('parking_lot')];
  const expected = await streamsInEveryState(client, channels);
  samePositions(t, await readStreamPositions(client, channels), expected);
});
