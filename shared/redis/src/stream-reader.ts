import { Cluster } from 'ioredis';
import { LuaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';
import { epochKey, historyKey, slotGroupOf } from './redis-names.js';

/** Reads a stream's epoch, tip and a page of its history, atomically; the file's header is the contract. */
const READ_SCRIPT = new LuaScript('readStreamHistory', new URL('./read-stream.lua', import.meta.url), 2);

type RawEntry = [id: string, fields: string[]];

type ReadingRedis = RedisClient & {
  readStreamHistory(history: string, epoch: string, after: string, afterEpoch: string, maxAgeMs: number, count: number): Promise<[string, string, number, RawEntry[]]>;
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
  return READ_SCRIPT.defineOn(redis);
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
 * `count` 0 would say, without a script: one MULTI of TIME and, per stream,
 * GET of its epoch and XINFO STREAM for its tip. A script call costs Redis
 * several times the commands it runs, and a subscribe that resumes nothing
 * needs only this (a connection storm makes one per new socket). One
 * transaction per slot group on a cluster (a user's streams share one; each
 * broadcast stream has its own), else one for all: each is atomic, so an
 * epoch and a tip always belong together. Rejects if Redis does.
 */
export async function readStreamPositions(redis: RedisClient, channels: readonly string[]): Promise<StreamPosition[]> {
  const groups = new Map<string, number[]>();
  for (const [i, channel] of channels.entries()) {
    const group = redis instanceof Cluster ? slotGroupOf(historyKey(channel)) : '';
    groups.set(group, [...(groups.get(group) ?? []), i]);
  }
  const positions: StreamPosition[] = new Array(channels.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const transaction = redis.multi().time();
      for (const i of indexes) transaction.get(epochKey(channels[i]!)).xinfo('STREAM', historyKey(channels[i]!));
      const replies = await transaction.exec();
      if (!replies) throw new Error('readStreamPositions: the transaction was aborted');
      const [timeError, time] = replies[0]!;
      if (timeError) throw timeError;
      const [seconds, micros] = time as [string, string];
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      for (const [k, i] of indexes.entries()) {
        const [epochError, epoch] = replies[1 + 2 * k]!;
        const [infoError, info] = replies[2 + 2 * k]!;
        if (epochError) throw epochError;
        // A stream that does not exist: its tip is just below any id it could hand out from now on.
        if (infoError && !/no such key/i.test(infoError.message)) throw infoError;
        positions[i] = { epoch: (epoch as string | null) ?? '', tip: infoError ? `${now - 1}-0` : lastGeneratedId(info as unknown[]) };
      }
    }),
  );
  return positions;
}

/** XINFO STREAM's `last-generated-id` (its reply is a flat list of names and values). */
function lastGeneratedId(info: unknown[]): string {
  for (let i = 0; i + 1 < info.length; i += 2) if (info[i] === 'last-generated-id') return info[i + 1] as string;
  throw new Error('XINFO STREAM without last-generated-id');
}

