import {
  compareNotificationIds,
  type NotificationFrame,
  type NotificationsResponse,
  notificationFrameText,
  type StreamName,
  type StreamPosition,
  type StreamPositions,
} from '@parking-realtime/protocol';
import { channelOfStream, type HistoryEntry, type HistoryRead, type RedisClient, readStreamHistory } from '@parking-realtime/redis';

export interface HistoryQuery {
  /** The streams to read, in the order `gap` lists them. */
  streams: readonly StreamName[];
  /** Positions to read on from; undefined: the most recent notifications of every stream. */
  after: StreamPositions | undefined;
  limit: number;
  maxAgeMs: number;
}

/** One stream's read: after a position, at most one entry more than the limit (which says more follows). */
interface StreamRead extends HistoryRead {
  stream: StreamName;
}

interface Candidate extends HistoryEntry {
  read: StreamRead;
}

/**
 * A user's notifications from the history of their streams: with positions,
 * what came after each, the oldest `limit` of it across the streams; without,
 * the most recent `limit`. Each stream is read on its own, all at once: its
 * keys share a Cluster slot, different streams do not. Rejects if Redis does.
 */
export async function readNotificationHistory(redis: RedisClient, userId: string, query: HistoryQuery): Promise<NotificationsResponse> {
  const reads = await Promise.all(
    query.streams.map(async (stream): Promise<StreamRead> => {
      const from = query.after?.[stream];
      // After a position, one entry more than fits says the stream has more. With positions for
      // other streams only, this one is not read: what came before now is not asked for.
      const count = from ? query.limit + 1 : query.after ? 0 : query.limit;
      return { stream, ...(await readStreamHistory(redis, channelOfStream(userId, stream), { after: from, maxAgeMs: query.maxAgeMs, count })) };
    }),
  );

  // Ids order one stream exactly and the others by time, roughly: the merge the WebSocket's replay makes too.
  const candidates: Candidate[] = reads.flatMap((read) => read.entries.map((entry) => ({ ...entry, read })));
  candidates.sort((a, b) => compareNotificationIds(a.id, b.id) || (a.read.stream < b.read.stream ? -1 : 1));
  const taken = query.after ? candidates.slice(0, query.limit) : candidates.slice(-query.limit);

  const notifications: NotificationFrame[] = [];
  const takenFrom = new Map<StreamRead, { count: number; last: string }>();
  for (const { id, read, body } of taken) {
    takenFrom.set(read, { count: (takenFrom.get(read)?.count ?? 0) + 1, last: id });
    // An entry without a body (never written by the publisher) is passed over, as the WebSocket's replay does.
    if (body) notifications.push(JSON.parse(notificationFrameText(id, read.stream, read.epoch, body)) as NotificationFrame);
  }

  const positions: StreamPositions = {};
  let more = false;
  for (const read of reads) {
    const from = query.after?.[read.stream];
    const got = takenFrom.get(read);
    // Read after a position, and not everything read was taken (the limit, or the one entry past it).
    const cut = from !== undefined && (got?.count ?? 0) < read.entries.length;
    positions[read.stream] = cut ? positionAfterCut(read, from, got?.last) : { id: read.tip, epoch: read.epoch };
    more ||= cut;
  }
  return { notifications, positions, gap: reads.filter((r) => r.gap).map((r) => r.stream), more };
}

/**
 * Where the caller stands in a stream that had more than fit: at the last
 * notification it got from it, or, having got none, where it was (asking
 * again from there finds the same gap, and the same entries, again).
 */
function positionAfterCut(read: StreamRead, from: StreamPosition, lastTaken: string | undefined): StreamPosition {
  return lastTaken === undefined ? from : { id: lastTaken, epoch: read.epoch };
}
