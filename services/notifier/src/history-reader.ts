import { notificationFrameText, type StreamName } from '@parking-realtime/protocol';
import { channelOfStream, type HistoryPosition, type HistoryRead, type RedisClient, readStreamHistory, readStreamPositions } from '@parking-realtime/redis';

/**
 * Entries read from one stream per script call. A replay holds one page per
 * stream at a time, and Redis runs one script call at a time: a page bounds
 * both the notifier's memory per socket and how long one read holds Redis.
 */
export const REPLAY_PAGE_ENTRIES = 1000;

/** Where a resume starts in one stream: after `id`, in the stream's epoch `epoch` (EPOCH_UNKNOWN: resume by time). */
export type ResumeFrom = HistoryPosition;

/** A notification frame read from history, serialized. */
export interface ReplayFrame {
  id: string;
  frame: string;
}

/**
 * One stream of a subscribe: where it stands and, when the client resumes
 * it, the replay of what it missed, read a page at a time (`page()`, then
 * `readPage()` when it is used up and `more`). At most `maxFrames` frames
 * are replayed; a client further behind gets a gap.
 */
export class StreamReplay {
  /** The stream's epoch as last read ('' if it does not exist); the frames carry it. */
  epoch: string;
  /**
   * The newest id the replay covers: every entry up to it was read (and
   * replayed if after the position), or lies in a gap it reported. Before
   * the replay is done, where the stream stood at the first read.
   */
  tip: string;
  /** The first read found a gap (see read-stream.lua in shared/redis): announced before the replay. */
  readonly gap: boolean;
  /** More may follow the page in hand: read it with `readPage()` once this one is used up. */
  more = false;
  /** Script calls made for this stream so far. */
  reads = 1;
  private frames: ReplayFrame[] = [];
  private next = 0;
  /** The last id read: the next page starts after it. */
  private after: string;
  /** Entries read so far, toward `maxFrames`. */
  private taken = 0;

  constructor(
    private readonly redis: RedisClient,
    readonly stream: StreamName,
    readonly channel: string,
    /** The client's position in this stream, or undefined: read only where it stands. */
    readonly resumedFrom: ResumeFrom | undefined,
    private readonly maxAgeMs: number,
    private readonly maxFrames: number,
    first: PageRead,
  ) {
    this.epoch = first.epoch;
    this.tip = first.tip;
    this.after = resumedFrom?.id ?? '';
    this.gap = this.accept(first);
  }

  /** The frame the replay sends next from this stream, if the page in hand has one. */
  peek(): ReplayFrame | undefined {
    return this.frames[this.next];
  }

  /** Takes the frame `peek()` returned. */
  take(): ReplayFrame {
    return this.frames[this.next++]!;
  }

  /** Frames of the page in hand not sent yet. */
  get pending(): number {
    return this.frames.length - this.next;
  }

  /**
   * Reads the next page, after the last id read and in the epoch the replay
   * is in. Resolves true if it found a gap the replay must announce now: the
   * stream began again or was trimmed past that id, or the client is more
   * than `maxFrames` behind. Rejects if Redis does.
   */
  async readPage(): Promise<boolean> {
    this.reads += 1;
    const page = await readPage(this.redis, this.channel, { id: this.after, epoch: this.epoch }, this.maxAgeMs, this.pageSize());
    this.epoch = page.epoch;
    this.tip = page.tip;
    return this.accept(page);
  }

  /** A page holds one entry more than may still be replayed: getting it says the client is too far behind. */
  private pageSize(): number {
    return Math.min(REPLAY_PAGE_ENTRIES, this.maxFrames - this.taken + 1);
  }

  /** Takes a page in; true if it found a gap. */
  private accept(page: PageRead): boolean {
    this.frames = [];
    this.next = 0;
    if (!this.resumedFrom) return false;
    let { entries } = page;
    const room = this.maxFrames - this.taken;
    const tooFar = entries.length > room;
    if (tooFar) entries = entries.slice(0, room);
    for (const { id, body } of entries) {
      if (body) this.frames.push({ id, frame: notificationFrameText(id, this.stream, page.epoch, body) });
    }
    this.taken += entries.length;
    if (entries.length > 0) this.after = entries[entries.length - 1]!.id;
    // A short page reached the tip. Past `maxFrames` the replay stops here and the rest is the
    // gap: the tip read with this page covers it.
    this.more = !tooFar && page.entries.length === page.count;
    return page.gap || tooFar;
  }
}

interface PageRead extends HistoryRead {
  /** How many entries were asked for. */
  count: number;
}

/** A page after `after`. */
async function readPage(redis: RedisClient, channel: string, after: ResumeFrom, maxAgeMs: number, count: number): Promise<PageRead> {
  return { ...(await readStreamHistory(redis, channel, { after, maxAgeMs, count })), count };
}

/**
 * Reads each of a user's streams: where it stands, and when `from` gives a
 * position in it, the first page of what was missed since (never older than
 * `maxAgeMs`). A stream with a position is read on its own (on a cluster its
 * keys share a slot; different streams do not); those read only for where
 * they stand are read together, by one script call. All at once.
 */
export async function readStreams(
  redis: RedisClient,
  userId: string,
  streams: readonly StreamName[],
  from: (stream: StreamName) => ResumeFrom | undefined,
  maxAgeMs: number,
  maxFrames: number,
): Promise<StreamReplay[]> {
  const count = Math.min(REPLAY_PAGE_ENTRIES, maxFrames + 1);
  const planned = streams.map((stream) => ({ stream, channel: channelOfStream(userId, stream), start: from(stream) }));
  const standing = planned.filter((p) => !p.start);
  const [positions, firstPages] = await Promise.all([
    standing.length > 0 ? readStreamPositions(redis, standing.map((p) => p.channel)) : [],
    Promise.all(planned.map((p) => (p.start ? readPage(redis, p.channel, p.start, maxAgeMs, count) : undefined))),
  ]);
  // Nothing is replayed from a stream read only for where it stands: an empty page of none asked for.
  return planned.map(({ stream, channel, start }, i) => {
    const first = firstPages[i] ?? { ...positions[standing.findIndex((p) => p.stream === stream)]!, gap: false, entries: [], count: 0 };
    return new StreamReplay(redis, stream, channel, start, maxAgeMs, maxFrames, first);
  });
}
