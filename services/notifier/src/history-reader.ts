import { compareNotificationIds, type NotificationType } from '@parking-realtime/protocol';
import { broadcastHistoryKey, type Redis, userHistoryKey } from '@parking-realtime/server';

export interface Missed {
  /** Serialized notification frames, oldest first, exactly as they were published. */
  frames: Array<{ id: string; frame: string }>;
  /**
   * History no longer reaches back to `lastId`: something after it was
   * trimmed, or `lastId` is older than the maximum age.
   */
  gap: boolean;
}

export interface HistoryWindow {
  /** Entries older than this are never replayed (event-ingest trims them, and expires idle streams, at this age). */
  maxAgeMs: number;
  /** The current time in unix ms; default `Date.now()`. */
  now?: number;
}

/** Most frames replayed on one resume; a client further behind gets a gap. */
const MAX_REPLAY = 1000;

/**
 * Reads what a user missed since `lastId`, of the given types: its own
 * history (targeted) and each type's broadcast history, merged in id order.
 *
 * Ids are `<unix ms>-<seq>`, so an entry's age is read from its id. Nothing
 * older than `window.maxAgeMs` is replayed: the read starts at the later of
 * `lastId` (exclusive) and the oldest id still in the window. When `lastId`
 * is older than that, entries between the two may have existed and aged out
 * (trimmed, or the whole stream expired, which leaves no trace to check), so
 * the answer is a gap: skipping entries is never done without saying so.
 */
export async function readMissed(
  redis: Redis,
  userId: string,
  types: readonly NotificationType[],
  lastId: string,
  window: HistoryWindow,
): Promise<Missed> {
  const oldestKept = `${Math.max(0, (window.now ?? Date.now()) - window.maxAgeMs)}-0`;
  const beforeWindow = compareNotificationIds(lastId, oldestKept) < 0;
  const start = beforeWindow ? oldestKept : `(${lastId}`;
  const wanted = new Set<string>(types);
  const streams: Array<{ key: string; filterByType: boolean }> = [
    { key: userHistoryKey(userId), filterByType: true },
    ...types.map((t) => ({ key: broadcastHistoryKey(t), filterByType: false })),
  ];
  const pipeline = redis.pipeline();
  for (const { key } of streams) {
    pipeline.xrange(key, start, '+', 'COUNT', MAX_REPLAY);
    pipeline.xinfo('STREAM', key);
  }
  const results = (await pipeline.exec()) ?? [];
  const frames: Missed['frames'] = [];
  let gap = beforeWindow;
  streams.forEach(({ filterByType }, i) => {
    const [rangeErr, entries] = results[2 * i] ?? [];
    const [infoErr, info] = results[2 * i + 1] ?? [];
    if (rangeErr) throw rangeErr;
    if (!infoErr && trimmedAfter(info as unknown[], lastId)) gap = true;
    const list = (entries ?? []) as Array<[string, string[]]>;
    if (list.length >= MAX_REPLAY) gap = true;
    for (const [id, fields] of list) {
      const field = (name: string) => fields[fields.indexOf(name) + 1];
      if (filterByType && !wanted.has(field('t') ?? '')) continue;
      const frame = field('f');
      if (frame) frames.push({ id, frame });
    }
  });
  frames.sort((a, b) => compareNotificationIds(a.id, b.id));
  return { frames, gap };
}

/**
 * Whether entries after `lastId` may have been trimmed away. MAXLEN trimming
 * does not move XINFO's max-deleted-entry-id, so this errs on the safe side:
 * the stream has lost entries (entries-added > length) and its oldest kept
 * entry is newer than `lastId`. A spurious gap makes an app refetch; a missed
 * one would hide lost notifications.
 */
function trimmedAfter(info: unknown[] | undefined, lastId: string): boolean {
  if (!info) return false;
  const field = (name: string) => info[info.indexOf(name) + 1];
  const added = Number(field('entries-added'));
  const length = Number(field('length'));
  const first = field('first-entry') as [string, string[]] | null;
  if (!(added > length)) return false;
  return !first || compareNotificationIds(first[0], lastId) > 0;
}
