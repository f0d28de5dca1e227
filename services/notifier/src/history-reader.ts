import { notificationFrameText, type StreamName } from '@parking-realtime/protocol';
import { channelOfStream, epochKey, historyKey, LuaScript, type RedisClient } from '@parking-realtime/server';

/** Reads a stream's epoch, tip and what was missed, atomically; the file's header says how. */
const READ_SCRIPT = new LuaScript('readStream', new URL('./read-stream.lua', import.meta.url), 2);

type ReadingRedis = RedisClient & {
  readStream(history: string, epoch: string, after: string, clientEpoch: string, maxAgeMs: number, count: number): Promise<[string, string, number, Array<[string, string[]]>]>;
};

/** Most frames replayed from one stream on one resume; a client further behind gets a gap. */
const MAX_REPLAY = 1000;

/** Where a resume starts in one stream: after `id`, in the stream's epoch `epoch` (`-`: unknown, resume by time). */
export interface ResumeFrom {
  id: string;
  epoch: string;
}

export interface StreamRead {
  stream: StreamName;
  channel: string;
  /** The stream's epoch now ('' if it does not exist). */
  epoch: string;
  /** Where the stream stands: the last id it handed out. */
  tip: string;
  /** Something after the client's position may be gone (see read-stream.lua). */
  gap: boolean;
  /** Serialized notification frames missed, oldest first. */
  frames: Array<{ id: string; frame: string }>;
}

/**
 * Reads each of a user's streams: where it stands, and when `from` gives a
 * position in it, what was missed since (at most MAX_REPLAY frames, never
 * older than `maxAgeMs`). Each stream is read on its own (on a cluster its
 * keys share a slot; different streams do not), all at once.
 */
export async function readStreams(
  redis: RedisClient,
  userId: string,
  streams: readonly StreamName[],
  from: (stream: StreamName) => ResumeFrom | undefined,
  maxAgeMs: number,
): Promise<StreamRead[]> {
  const reading = READ_SCRIPT.defineOn(redis) as ReadingRedis;
  return Promise.all(
    streams.map(async (stream) => {
      const channel = channelOfStream(userId, stream);
      const start = from(stream);
      const [epoch, tip, gap, entries] = await reading.readStream(
        historyKey(channel),
        epochKey(channel),
        start?.id ?? '',
        start?.epoch ?? '-',
        maxAgeMs,
        MAX_REPLAY,
      );
      const frames: StreamRead['frames'] = [];
      for (const [id, fields] of entries) {
        const body = fields[fields.indexOf('b') + 1];
        if (body) frames.push({ id, frame: notificationFrameText(id, stream, epoch, body) });
      }
      return { stream, channel, epoch, tip, gap: gap === 1, frames };
    }),
  );
}
