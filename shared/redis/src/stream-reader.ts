import { Cluster } from 'ioredis';
import { LuaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';
import { epochKey, historyKey, slotGroupOf } from './redis-names.js';

/** Reads a stream's epoch, tip and a page of its history, atomically; the file's header is the contract. */
const READ_SCRIPT = new LuaScript('readStreamHistory', new URL('./read-stream.lua', import.meta.url), 2);
/** Reads where several streams stand (epoch and tip), atomically; the file's header is the contract. */
const POSITIONS_SCRIPT = new LuaScript('readStreamPositions', new URL('./stream-positions.lua', import.meta.url));

type RawEntry = [id: string, fields: string[]];

type ReadingRedis = RedisClient & {
  readStreamHistory(history: string, epoch: string, after: string, afterEpoch: string, maxAgeMs: number, count: number): Promise<[string, string, number, RawEntry[]]>;
  /** Keys preceded by their count: a call's number of streams varies. */
  readStreamPositions(numberOfKeys: number, ...keys: string[]): Promise<string[]>;
};

/** The epoch of a position that is a time, not a place in one stream (a resume by `last_id`): epochs are not checked. */
export const EPOCH_UNKNOWN = '-';

/** Where a read starts in a stream: after `id`, which was a position in the stream's epoch `epoch`. */
export interface HistoryPosition {
  id: string;
  /** '' when the stream did not exist when the position was taken; EPOCH_UNKNOWN when `id` is only a time. */
  epoch: string;
}

export interface HistoryReadOptions {
  /** The position to read after; undefined: the stream's most recent entries. */
  after: HistoryPosition | undefined;
  /** Entries older than this (milliseconds) are never returned, and a position older than it is a gap. */
  maxAgeMs: number;
  /** The most entries to return (fewer: the read reached the tip); 0: only the epoch and the tip. */
  count: number;
}

/** A notification as the history keeps it. */
export interface HistoryEntry {
  id: string;
  /** The frame body the publisher stored; '' for an entry without one (never written by the publisher). */
  body: string;
}

export interface HistoryRead {
  /** The stream's epoch now; '' if it does not exist. */
  epoch: string;
  /** The last id the stream handed out; for a stream that does not exist, one just below any it could hand out from now on. */
  tip: string;
  /** Something after the position may be gone (read-stream.lua says when); the entries then start at the oldest kept. */
  gap: boolean;
  /** Oldest first. */
  entries: HistoryEntry[];
}

/**
 * Makes a connection ready for readStreamHistory. Call it where the app is
 * built, before the connection carries any command: defining the script on a
 * connection whose auto-pipeline already holds a command of the same turn
 * makes ioredis 5 throw out of its reply handling and end the process
 * (redis/ioredis#1931), and auth-token's connection auto-pipelines.
 */
export function prepareStreamReads<R extends RedisClient>(redis: R): R {
  return POSITIONS_SCRIPT.defineOn(READ_SCRIPT.defineOn(redis));
}

/**
 * Reads the history of the stream on `channel`: where it stands, and what
 * came after a position (with whether history still reaches back to it) or
 * its most recent entries. One script call: atomic, and on a cluster in the
 * one slot the stream's keys share. Rejects if Redis does, or if the
 * connection was not prepared (prepareStreamReads).
 */
export async function readStreamHistory(redis: RedisClient, channel: string, options: HistoryReadOptions): Promise<HistoryRead> {
  if (!READ_SCRIPT.isDefinedOn(redis)) throw new Error('readStreamHistory: call prepareStreamReads() on this connection where the app is built');
  const reading = redis as ReadingRedis;
  const { after, maxAgeMs, count } = options;
  const [epoch, tip, gap, entries] = await reading.readStreamHistory(historyKey(channel), epochKey(channel), after?.id ?? '', after?.epoch ?? '', maxAgeMs, count);
  return { epoch, tip, gap: gap === 1, entries: entries.map(([id, fields]) => ({ id, body: bodyOf(fields) })) };
}

/** Field `b` of an entry (event-ingest's publish-notifications.lua writes `t`, the type, and `b`). */
function bodyOf(fields: string[]): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'b') return fields[i + 1]!;
  return '';
}

/** Where a stream stands: what readStreamHistory reports with `count` 0. */
export type StreamPosition = Pick<HistoryRead, 'epoch' | 'tip'>;

/**
 * Where the stream on each of `channels` stands, as readStreamHistory with
 * `count` 0 would say, in one script call for all of them (per slot group on
 * a cluster: a user's streams share one, each broadcast stream has its own).
 * A subscribe that resumes nothing needs only this, and a connection storm
 * makes one per new socket: Redis spends about as much on running a script
 * as on the commands in it, so one call, not one per stream. Each call is
 * atomic: an epoch and a tip always belong together. Rejects if Redis does,
 * or if the connection was not prepared (prepareStreamReads).
 */
export async function readStreamPositions(redis: RedisClient, channels: readonly string[]): Promise<StreamPosition[]> {
  if (!POSITIONS_SCRIPT.isDefinedOn(redis)) throw new Error('readStreamPositions: call prepareStreamReads() on this connection where the app is built');
  const groups = new Map<string, number[]>();
  for (const [i, channel] of channels.entries()) {
    const group = redis instanceof Cluster ? slotGroupOf(historyKey(channel)) : '';
    groups.set(group, [...(groups.get(group) ?? []), i]);
  }
  const positions: StreamPosition[] = new Array(channels.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const keys = indexes.flatMap((i) => [historyKey(channels[i]!), epochKey(channels[i]!)]);
      const read = await (redis as ReadingRedis).readStreamPositions(keys.length, ...keys);
      for (const [k, i] of indexes.entries()) positions[i] = { epoch: read[2 * k]!, tip: read[2 * k + 1]! };
    }),
  );
  return positions;
}
